/// An 8-bit RGB image, interleaved, row-major, no row padding: `pixels.count == width * height * 3`.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// R, G, B bytes per pixel, rows top to bottom.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A uniform image, handy for tests and placeholders.
    public init(width: Int, height: Int, filledWith rgb: (UInt8, UInt8, UInt8)) {
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in stride(from: 0, to: pixels.count, by: 3) {
            pixels[index] = rgb.0
            pixels[index + 1] = rgb.1
            pixels[index + 2] = rgb.2
        }
        self.pixels = pixels
    }

    /// True when the pixel buffer matches the dimensions.
    public var isWellFormed: Bool {
        width > 0 && height > 0 && pixels.count == width * height * 3
    }
}

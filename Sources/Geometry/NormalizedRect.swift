/// A rectangle in normalised image coordinates: 0...1 on both axes, origin top-left. The one region type
/// of the product: configuration gives regions of interest this way (so they survive a change of camera
/// resolution), the cameras carry them with each frame, the JPEG decoder and the classifier crop by them.
public struct NormalizedRect: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The whole image.
    public static let full = NormalizedRect(x: 0, y: 0, width: 1, height: 1)

    /// True when the rectangle has positive size and lies inside the unit square.
    public var isValid: Bool {
        x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= 1.000_001 && y + height <= 1.000_001
    }
}


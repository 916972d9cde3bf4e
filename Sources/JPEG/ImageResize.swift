/// A rectangle in normalised image coordinates: 0...1 on both axes, origin top-left.
/// Configuration gives regions of interest this way so they survive a change of camera resolution.
public struct NormalizedRect: Sendable, Equatable {
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

/// Resizing and cropping of RGB images, plain loops with no dependencies.
public enum ImageResize {
    /// Resizes by area averaging (a box filter with fractional pixel coverage): every source pixel
    /// contributes in proportion to the area it covers in the output pixel. This is the right filter
    /// for shrinking (no aliasing, no ringing) and what the classifier was trained with.
    /// Enlarging degenerates to nearest-neighbour-like blocks.
    public static func areaAverage(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        guard image.isWellFormed, width > 0, height > 0 else {
            return RGBImage(width: max(width, 0), height: max(height, 0), pixels: [UInt8](repeating: 0, count: max(width, 0) * max(height, 0) * 3))
        }
        if width == image.width && height == image.height { return image }
        let columns = AxisWeights(source: image.width, destination: width)
        let rows = AxisWeights(source: image.height, destination: height)

        // Horizontal pass: every source row to `width` columns, in Float.
        let rowLength = width * 3
        let sourceRowLength = image.width * 3
        var horizontal = [Float](repeating: 0, count: image.height * rowLength)
        image.pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { out in
                columns.withPointers { starts, indices, weights in
                    for row in 0..<image.height {
                        let sourceRow = source.baseAddress! + row * sourceRowLength
                        let outRow = out.baseAddress! + row * rowLength
                        for column in 0..<width {
                            var r: Float = 0, g: Float = 0, b: Float = 0
                            for tap in starts[column]..<starts[column + 1] {
                                let pixel = sourceRow + indices[tap] * 3
                                let weight = weights[tap]
                                r += Float(pixel[0]) * weight
                                g += Float(pixel[1]) * weight
                                b += Float(pixel[2]) * weight
                            }
                            outRow[column * 3] = r
                            outRow[column * 3 + 1] = g
                            outRow[column * 3 + 2] = b
                        }
                    }
                }
            }
        }

        // Vertical pass: weighted sums of the horizontal rows.
        var pixels = [UInt8](repeating: 0, count: height * rowLength)
        var accumulator = [Float](repeating: 0, count: rowLength)
        horizontal.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { out in
                accumulator.withUnsafeMutableBufferPointer { sum in
                    rows.withPointers { starts, indices, weights in
                        for row in 0..<height {
                            for index in 0..<rowLength { sum[index] = 0 }
                            for tap in starts[row]..<starts[row + 1] {
                                let sourceRow = source.baseAddress! + indices[tap] * rowLength
                                let weight = weights[tap]
                                for index in 0..<rowLength { sum[index] += sourceRow[index] * weight }
                            }
                            let outRow = out.baseAddress! + row * rowLength
                            for index in 0..<rowLength {
                                outRow[index] = UInt8(min(255, max(0, sum[index] + 0.5)))
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The pixels inside `region` (normalised), rounded outwards to whole pixels and clamped to the
    /// image; at least one pixel. An invalid region yields the whole image.
    public static func crop(_ image: RGBImage, to region: NormalizedRect) -> RGBImage {
        guard image.isWellFormed, region.isValid, region != .full else { return image }
        let left = min(image.width - 1, max(0, Int((region.x * Double(image.width)).rounded(.down))))
        let top = min(image.height - 1, max(0, Int((region.y * Double(image.height)).rounded(.down))))
        let right = min(image.width, max(left + 1, Int(((region.x + region.width) * Double(image.width)).rounded(.up))))
        let bottom = min(image.height, max(top + 1, Int(((region.y + region.height) * Double(image.height)).rounded(.up))))
        let width = right - left
        let height = bottom - top
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for row in top..<bottom {
            let start = (row * image.width + left) * 3
            pixels.append(contentsOf: image.pixels[start..<(start + width * 3)])
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Crop to a region of interest, then area-average to the model's input size: the classifier's preprocessing.
    public static func cropAndResize(_ image: RGBImage, region: NormalizedRect, width: Int, height: Int) -> RGBImage {
        areaAverage(crop(image, to: region), width: width, height: height)
    }
}

/// For each destination index along one axis, the source indices it covers and their weights (summing to 1).
private struct AxisWeights {
    var starts: [Int] = []
    var indices: [Int] = []
    var weights: [Float] = []

    init(source: Int, destination: Int) {
        let scale = Double(source) / Double(destination)
        for index in 0..<destination {
            starts.append(indices.count)
            let begin = Double(index) * scale
            let end = min(Double(source), Double(index + 1) * scale)
            var sourceIndex = Int(begin.rounded(.down))
            let total = end - begin
            while Double(sourceIndex) < end && sourceIndex < source {
                let covered = min(end, Double(sourceIndex + 1)) - max(begin, Double(sourceIndex))
                if covered > 1e-9 {
                    indices.append(sourceIndex)
                    weights.append(Float(covered / total))
                }
                sourceIndex += 1
            }
        }
        starts.append(indices.count)
    }

    /// Unchecked access for the inner loops (indices were built in range above).
    func withPointers<R>(_ body: (UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Float>) -> R) -> R {
        starts.withUnsafeBufferPointer { starts in
            indices.withUnsafeBufferPointer { indices in
                weights.withUnsafeBufferPointer { weights in
                    body(starts.baseAddress!, indices.baseAddress!, weights.baseAddress!)
                }
            }
        }
    }
}

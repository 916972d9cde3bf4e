import Geometry

/// A rectangle of whole pixels: columns `left ..< left + width`, rows `top ..< top + height`.
public struct PixelRect: Sendable, Equatable {
    public var left: Int
    public var top: Int
    public var width: Int
    public var height: Int

    public init(left: Int, top: Int, width: Int, height: Int) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }

    /// The pixels of a `width` x `height` image that `region` (normalised) covers, rounded outwards to
    /// whole pixels and clamped to the image; at least one pixel. An invalid region is the whole image.
    public init(_ region: NormalizedRect, imageWidth width: Int, height: Int) {
        guard region.isValid, region != .full, width > 0, height > 0 else {
            self.init(left: 0, top: 0, width: max(width, 0), height: max(height, 0))
            return
        }
        let left = min(width - 1, max(0, Int((region.x * Double(width)).rounded(.down))))
        let top = min(height - 1, max(0, Int((region.y * Double(height)).rounded(.down))))
        let right = min(width, max(left + 1, Int(((region.x + region.width) * Double(width)).rounded(.up))))
        let bottom = min(height, max(top + 1, Int(((region.y + region.height) * Double(height)).rounded(.up))))
        self.init(left: left, top: top, width: right - left, height: bottom - top)
    }
}

/// Area-average resizing (a box filter with fractional pixel coverage) that keeps its work between
/// frames: the per-axis weights stay while the geometry (source size, crop, output size) is unchanged,
/// and the two row buffers are reused, so a camera loop resizing every frame the same way allocates
/// nothing after the first frame.
///
/// Each output row is the weighted sum of its source rows (one pass over whole rows, which the compiler
/// vectorises), then the weighted sums along that one row: the per-pixel tap loop only runs for output
/// rows, not for every source row. Values are rounded to 8 bits exactly like `ImageResize.areaAverage`.
///
/// Not thread-safe (it is a value with scratch storage): keep one per camera or worker.
public struct AreaResizer {
    private struct Geometry: Equatable {
        var crop: PixelRect
        var width: Int
        var height: Int
    }

    private var geometry: Geometry?
    private var columns = AxisWeights(source: 0, destination: 0)
    private var rows = AxisWeights(source: 0, destination: 0)
    /// One output row before the horizontal pass: the crop's width x 3 weighted row sums.
    private var rowSums: [Float] = []
    /// One output row after both passes: width x 3 values, already rounded to 0...255.
    private var line: [Float] = []

    public init() {}

    /// Resizes `crop` of `image` (the whole image when nil) to `width` x `height` into `output`,
    /// reusing `output`'s pixel storage when it already has the right size.
    /// Returns false, leaving `output` alone, when the image is malformed or a size is not positive.
    @discardableResult
    public mutating func resize(_ image: RGBImage, crop: PixelRect? = nil, width: Int, height: Int, into output: inout RGBImage) -> Bool {
        let count = width * height * 3
        guard width > 0, height > 0 else { return false }
        if output.pixels.count != count { output.pixels = [UInt8](repeating: 0, count: count) }
        output.width = width
        output.height = height
        let rowLength = width * 3
        return output.pixels.withUnsafeMutableBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return false }
            return run(image, crop: crop, width: width, height: height) { row, values in
                let out = base + row * rowLength
                for index in 0..<rowLength { out[index] = UInt8(values[index]) }
            }
        }
    }

    /// Resizes like `resize(_:crop:width:height:into:)` but writes three planes (channel-major, CHW) of
    /// `value * scale[c] + offset[c]`, the 8-bit value rounded exactly as in the RGB result: a model's
    /// normalised input tensor without an intermediate image. `planes` must hold 3 x width x height floats.
    @discardableResult
    public mutating func resizePlanar(_ image: RGBImage, crop: PixelRect? = nil, width: Int, height: Int,
                                      scale: SIMD3<Float>, offset: SIMD3<Float>,
                                      into planes: UnsafeMutableBufferPointer<Float>) -> Bool {
        let plane = width * height
        guard width > 0, height > 0, planes.count == 3 * plane, let base = planes.baseAddress else { return false }
        return run(image, crop: crop, width: width, height: height) { row, values in
            let red = base + row * width, green = red + plane, blue = green + plane
            for column in 0..<width {
                red[column] = values[column * 3] * scale.x + offset.x
                green[column] = values[column * 3 + 1] * scale.y + offset.y
                blue[column] = values[column * 3 + 2] * scale.z + offset.z
            }
        }
    }

    /// Both passes; hands each finished output row (width x 3 rounded values) to `emit`.
    private mutating func run(_ image: RGBImage, crop: PixelRect?, width: Int, height: Int,
                              emit: (_ row: Int, _ values: UnsafePointer<Float>) -> Void) -> Bool {
        guard image.isWellFormed else { return false }
        let crop = crop ?? PixelRect(left: 0, top: 0, width: image.width, height: image.height)
        guard crop.left >= 0, crop.top >= 0, crop.width > 0, crop.height > 0,
              crop.left + crop.width <= image.width, crop.top + crop.height <= image.height else { return false }
        let wanted = Geometry(crop: crop, width: width, height: height)
        if geometry != wanted {
            columns = AxisWeights(source: crop.width, destination: width)
            rows = AxisWeights(source: crop.height, destination: height)
            rowSums = [Float](repeating: 0, count: crop.width * 3 + 1)
            line = [Float](repeating: 0, count: width * 3)
            geometry = wanted
        }
        let sourceRowLength = image.width * 3
        let spanLength = crop.width * 3
        let rowLength = width * 3
        image.pixels.withUnsafeBufferPointer { source in
            rowSums.withUnsafeMutableBufferPointer { sums in
                line.withUnsafeMutableBufferPointer { line in
                    columns.withPointers { columnFirst, columnStart, columnWeights in
                        rows.withPointers { rowFirst, rowStart, rowWeights in
                            let origin = source.baseAddress! + crop.top * sourceRowLength + crop.left * 3
                            let sum = sums.baseAddress!, out = line.baseAddress!
                            for row in 0..<height {
                                // Vertical: weighted sum of the source rows this output row covers.
                                // Shrinking by less than 2x, most rows take two source rows: one fused loop.
                                var sourceRow = origin + rowFirst[row] * sourceRowLength
                                let first = rowStart[row], taps = rowStart[row + 1] - first
                                let w0 = rowWeights[first]
                                if taps >= 2 {
                                    let next = sourceRow + sourceRowLength, w1 = rowWeights[first + 1]
                                    for index in 0..<spanLength { sum[index] = Float(sourceRow[index]) * w0 + Float(next[index]) * w1 }
                                    sourceRow = next
                                } else {
                                    for index in 0..<spanLength { sum[index] = Float(sourceRow[index]) * w0 }
                                }
                                for tap in min(first + 2, first + taps)..<(first + taps) {
                                    sourceRow += sourceRowLength
                                    let weight = rowWeights[tap]
                                    for index in 0..<spanLength { sum[index] += Float(sourceRow[index]) * weight }
                                }
                                // Horizontal: weighted sum of the columns each output pixel covers.
                                // One 4-lane load per tap (R, G, B and the next pixel's R, ignored; rowSums has
                                // one float of padding for the last pixel).
                                for column in 0..<width {
                                    var pixel = UnsafeRawPointer(sum + columnFirst[column] * 3)
                                    var rgb = SIMD4<Float>()
                                    for tap in columnStart[column]..<columnStart[column + 1] {
                                        rgb += pixel.loadUnaligned(as: SIMD4<Float>.self) * columnWeights[tap]
                                        pixel += 3 * MemoryLayout<Float>.stride
                                    }
                                    out[column * 3] = rgb.x
                                    out[column * 3 + 1] = rgb.y
                                    out[column * 3 + 2] = rgb.z
                                }
                                // Round to 8 bits (floor of sum + 0.5): what storing the resized image keeps.
                                // Sums are non-negative and far below 2^23, so adding and removing 2^23 rounds to
                                // an integer and one compare corrects it to the floor: branch-free and vectorised,
                                // where rounded(.down) is a libm call per value on x86-64 without SSE4.1.
                                for index in 0..<rowLength {
                                    let value = min(255, out[index] + 0.5)
                                    let nearest = (value + 0x1p23) - 0x1p23
                                    out[index] = nearest > value ? nearest - 1 : nearest
                                }
                                emit(row, out)
                            }
                        }
                    }
                }
            }
        }
        return true
    }
}

/// For each destination index along one axis: the first source index it covers, and the weights
/// (summing to 1) of the consecutive source indices from there, stored back to back.
struct AxisWeights {
    var first: [Int] = []
    /// Destination index i uses weights[start[i] ..< start[i + 1]].
    var start: [Int] = []
    var weights: [Float] = []

    init(source: Int, destination: Int) {
        guard source > 0, destination > 0 else { return }
        let scale = Double(source) / Double(destination)
        for index in 0..<destination {
            start.append(weights.count)
            let begin = Double(index) * scale
            let end = min(Double(source), Double(index + 1) * scale)
            let total = end - begin
            var sourceIndex = Int(begin.rounded(.down))
            var firstCovered: Int?
            while Double(sourceIndex) < end && sourceIndex < source {
                let covered = min(end, Double(sourceIndex + 1)) - max(begin, Double(sourceIndex))
                // A sliver below 1e-9 of a pixel is floating-point residue, not coverage; it can only
                // be the first or last index, so the covered indices stay consecutive.
                if covered > 1e-9 {
                    if firstCovered == nil { firstCovered = sourceIndex }
                    weights.append(Float(covered / total))
                }
                sourceIndex += 1
            }
            first.append(min(firstCovered ?? Int(begin.rounded(.down)), source - 1))
            if weights.count == start[index] { weights.append(1) }  // unreachable for scale > 0; keeps one tap
        }
        start.append(weights.count)
    }

    /// Unchecked access for the inner loops (every index was built in range above).
    func withPointers<R>(_ body: (UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Float>) -> R) -> R {
        first.withUnsafeBufferPointer { first in
            start.withUnsafeBufferPointer { start in
                weights.withUnsafeBufferPointer { weights in
                    body(first.baseAddress!, start.baseAddress!, weights.baseAddress!)
                }
            }
        }
    }
}

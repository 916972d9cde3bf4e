import CInferenceKernels
import JPEG

/// The classifier's resize in one C pass (`rk_resample_rgb`, `rk_resample_ycc`): area-averages
/// a crop of a decoded frame (interleaved RGB, or a JPEG's Y/Cb/Cr planes each at its own resolution) to
/// the input size, rounds to 8 bits, normalises and writes the NCHW float tensor, or the bytes the plan's
/// input QuantizeLinear would make of it.
///
/// Keeps its work between frames: the per-axis tables and the scratch rows stay while the geometry
/// (source layout, crop, output size) is unchanged, so a camera loop allocates nothing after the first
/// frame. Not thread-safe (a value with scratch storage): keep one per classifier.
public struct InputResampler {
    /// What the tables were built for: the source layout, the crop in each plane and the output size.
    private struct Geometry: Equatable {
        var luma: PlaneGeometry
        /// Cb and Cr (same geometry), nil for RGB and greyscale.
        var chroma: PlaneGeometry?
        /// Bytes per sample: 3 for interleaved RGB, 1 for planes.
        var bytesPerSample: Int
        /// Where Cb and Cr start in the source bytes.
        var blueOffset: Int
        var redOffset: Int
        var width: Int
        var height: Int
    }

    /// One source plane: its size in samples and where the crop lies in it (in its own samples,
    /// fractional for subsampled chroma).
    private struct PlaneGeometry: Equatable {
        var columns: Int
        var rows: Int
        var left: Double, right: Double
        var top: Double, bottom: Double
    }

    /// Where a plane's crop starts in the source bytes and which tables map it.
    private struct PlaneLayout {
        var originOffset: Int
        var stride: Int
        var span: Int
        var columns: AxisSlot
        var rows: AxisSlot
    }

    /// An axis's tables inside `firsts` and `weights`.
    private struct AxisSlot {
        var firstOffset: Int
        var weightOffset: Int
        var taps: Int
        var count: Int
    }

    private var geometry: Geometry?
    private var layouts: [PlaneLayout] = []
    private var firsts: [Int32] = []
    private var weights: [Float] = []
    private var scratch: [Float] = []

    public init() {}

    /// Where the result goes.
    public enum Destination {
        /// The NCHW float tensor: 3 x height x width values.
        case tensor(UnsafeMutableBufferPointer<Float>)
        /// That tensor quantized as `quantization` says, channels last: height x width x 3 bytes.
        case quantized(UnsafeMutableRawBufferPointer, InputQuantization)

        var count: Int {
            switch self {
            case .tensor(let buffer): buffer.count
            case .quantized(let buffer, _): buffer.count
            }
        }
    }

    /// Resizes `crop` of `image` into `destination`: value * scale[c] + offset[c] per channel.
    /// Returns false, writing nothing, when the image is malformed, the crop is outside it or a size is wrong.
    public mutating func resample(_ image: RGBImage, crop: PixelRect, width: Int, height: Int,
                                  scale: SIMD3<Float>, offset: SIMD3<Float>, into destination: Destination) -> Bool {
        guard image.isWellFormed, Self.fits(crop, width: image.width, height: image.height),
              width > 0, height > 0, destination.count == 3 * width * height else { return false }
        let plane = PlaneGeometry(columns: image.width, rows: image.height, left: Double(crop.left), right: Double(crop.left + crop.width),
                                  top: Double(crop.top), bottom: Double(crop.top + crop.height))
        prepare(Geometry(luma: plane, chroma: nil, bytesPerSample: 3, blueOffset: 0, redOffset: 0, width: width, height: height))
        return run(image.pixels, width: width, height: height, scale: scale, offset: offset, destination: destination) { planes, output, scratch in
            rk_resample_rgb(planes, output, scratch)
        }
    }

    /// Resizes `crop` (in image pixels) of a JPEG's planes into `destination`, averaging Y at full and Cb/Cr at
    /// chroma resolution over the same area and converting each output pixel to RGB (greyscale: R = G = B = Y).
    public mutating func resample(_ image: YCbCrImage, crop: PixelRect, width: Int, height: Int,
                                  scale: SIMD3<Float>, offset: SIMD3<Float>, into destination: Destination) -> Bool {
        guard image.isWellFormed, Self.fits(crop, width: image.width, height: image.height),
              width > 0, height > 0, destination.count == 3 * width * height else { return false }
        let luma = PlaneGeometry(columns: image.lumaWidth, rows: image.lumaHeight, left: Double(crop.left), right: Double(crop.left + crop.width),
                                 top: Double(crop.top), bottom: Double(crop.top + crop.height))
        var chroma: PlaneGeometry?
        if image.planeCount == 3 {
            // Chroma sample j covers luma pixels [j * factor, (j + 1) * factor): the same area in its units.
            let fx = Double(image.chromaFactorX), fy = Double(image.chromaFactorY)
            chroma = PlaneGeometry(columns: image.chromaWidth, rows: image.chromaHeight,
                                   left: luma.left / fx, right: min(luma.right / fx, Double(image.chromaWidth)),
                                   top: luma.top / fy, bottom: min(luma.bottom / fy, Double(image.chromaHeight)))
        }
        prepare(Geometry(luma: luma, chroma: chroma, bytesPerSample: 1, blueOffset: image.planeOffset(1), redOffset: image.planeOffset(2),
                         width: width, height: height))
        let planeCount = Int32(image.planeCount)
        return run(image.samples, width: width, height: height, scale: scale, offset: offset, destination: destination) { planes, output, scratch in
            rk_resample_ycc(planes, planeCount, output, scratch)
        }
    }

    private static func fits(_ crop: PixelRect, width: Int, height: Int) -> Bool {
        crop.left >= 0 && crop.top >= 0 && crop.width > 0 && crop.height > 0
            && crop.left + crop.width <= width && crop.top + crop.height <= height
    }

    /// Builds the tables and scratch for `wanted` unless they are already built for it.
    private mutating func prepare(_ wanted: Geometry) {
        guard geometry != wanted else { return }
        layouts = []
        firsts = []
        weights = []
        var planes = [(wanted.luma, 0)]
        if let chroma = wanted.chroma { planes += [(chroma, wanted.blueOffset), (chroma, wanted.redOffset)] }
        for (plane, base) in planes {
            let columns = AreaAxis(begin: plane.left, end: plane.right, samples: plane.columns, destination: wanted.width)
            let rows = AreaAxis(begin: plane.top, end: plane.bottom, samples: plane.rows, destination: wanted.height)
            let columnSlot = AxisSlot(firstOffset: firsts.count, weightOffset: weights.count, taps: columns.taps, count: wanted.width)
            firsts += columns.first
            weights += columns.weight
            let rowSlot = AxisSlot(firstOffset: firsts.count, weightOffset: weights.count, taps: rows.taps, count: wanted.height)
            firsts += rows.first
            weights += rows.weight
            let stride = plane.columns * wanted.bytesPerSample
            layouts.append(PlaneLayout(originOffset: base + rows.origin * stride + columns.origin * wanted.bytesPerSample, stride: stride,
                                       span: columns.span, columns: columnSlot, rows: rowSlot))
        }
        // The kernels' row sums, with room for the taps read past the span (weighing 0; the scratch is
        // zeroed here so they read finite values), then three output lines.
        let sums = layouts.prefix(2).map { wanted.bytesPerSample * ($0.span + $0.columns.taps) + 4 }.reduce(0, +)
        scratch = [Float](repeating: 0, count: sums + 3 * wanted.width)
        geometry = wanted
    }

    private static func axis(_ slot: AxisSlot, _ firsts: UnsafePointer<Int32>, _ weights: UnsafePointer<Float>) -> rk_area_axis {
        rk_area_axis(first: firsts + slot.firstOffset, weight: weights + slot.weightOffset, taps: Int32(slot.taps), count: Int32(slot.count))
    }

    private mutating func run(_ source: [UInt8], width: Int, height: Int, scale: SIMD3<Float>, offset: SIMD3<Float>,
                              destination: Destination,
                              kernel: (UnsafePointer<rk_area_plane>, UnsafePointer<rk_area_output>, UnsafeMutablePointer<Float>) -> Void) -> Bool {
        var output = rk_area_output(tensor: nil, quantized: nil, width: Int32(width), height: Int32(height),
                                    scale: (scale.x, scale.y, scale.z), offset: (offset.x, offset.y, offset.z),
                                    quantScale: 1, quantZero: 0, quantLo: 0, quantHi: 255)
        switch destination {
        case .tensor(let tensor):
            guard let base = tensor.baseAddress else { return false }
            output.tensor = base
        case .quantized(let bytes, let quantization):
            guard let base = bytes.baseAddress else { return false }
            output.quantized = base.assumingMemoryBound(to: UInt8.self)
            output.quantScale = quantization.scale
            output.quantZero = quantization.zeroPoint
            output.quantLo = quantization.range.lowerBound
            output.quantHi = quantization.range.upperBound
        }
        // Borrow the scratch rows for the call (a swap, no copy) so the closures below only read `self`.
        var rowBuffer: [Float] = []
        swap(&rowBuffer, &scratch)
        defer { swap(&rowBuffer, &scratch) }
        let layouts = self.layouts
        return source.withUnsafeBufferPointer { bytes in
            firsts.withUnsafeBufferPointer { firsts in
                weights.withUnsafeBufferPointer { weights in
                    rowBuffer.withUnsafeMutableBufferPointer { rows in
                        guard let bytes = bytes.baseAddress, let firsts = firsts.baseAddress, let weights = weights.baseAddress,
                              let rows = rows.baseAddress else { return false }
                        // The plane descriptions live on the stack: nothing is allocated per frame.
                        return withUnsafeTemporaryAllocation(of: rk_area_plane.self, capacity: layouts.count) { planes in
                            for slot in 0..<layouts.count {
                                let layout = layouts[slot]
                                planes[slot] = rk_area_plane(origin: bytes + layout.originOffset, stride: Int64(layout.stride), span: Int32(layout.span),
                                                             columns: Self.axis(layout.columns, firsts, weights),
                                                             rows: Self.axis(layout.rows, firsts, weights))
                            }
                            guard let first = planes.baseAddress else { return false }
                            kernel(first, &output, rows)
                            return true
                        }
                    }
                }
            }
        }
    }
}

/// One axis of an area-averaging resize of the source interval [begin, end) (in samples, fractional
/// for chroma) onto `destination` outputs, in the kernels' layout: output i reads `taps` (a multiple of 4)
/// samples from `first[i]` with weights `weight[i * taps ...]`, unused taps weighing 0. Indices count from
/// `origin`, the first sample the interval touches; `span` samples from there are read.
struct AreaAxis {
    var origin: Int
    var span: Int
    var taps: Int
    var first: [Int32]
    var weight: [Float]

    init(begin: Double, end: Double, samples: Int, destination: Int) {
        origin = max(0, min(samples - 1, Int(begin.rounded(.down))))
        let low0 = begin - Double(origin), high0 = end - Double(origin)
        let scale = (end - begin) / Double(destination)
        // Covered samples and weights per output as ImageResize/AreaResizer compute them (in Double,
        // slivers below 1e-9 of a sample ignored), relative to `origin`.
        var perOutput: [(start: Int, weights: [Float])] = []
        var last = 0
        for output in 0..<destination {
            let low = low0 + Double(output) * scale
            let high = min(high0, low0 + Double(output + 1) * scale)
            let total = high - low
            var sample = Int(low.rounded(.down))
            var start: Int?
            var weights: [Float] = []
            while Double(sample) < high && origin + sample < samples {
                let covered = min(high, Double(sample + 1)) - max(low, Double(sample))
                if covered > 1e-9 {
                    if start == nil { start = sample }
                    weights.append(Float(covered / total))
                }
                sample += 1
            }
            let begins = max(0, min(start ?? Int(low.rounded(.down)), samples - 1 - origin))
            if weights.isEmpty { weights = [1] }
            perOutput.append((begins, weights))
            last = max(last, begins + weights.count)
        }
        span = max(1, last)
        let most = perOutput.map(\.weights.count).max() ?? 1
        taps = (most + 3) / 4 * 4
        first = perOutput.map { Int32($0.start) }
        weight = [Float](repeating: 0, count: taps * destination)
        for (output, entry) in perOutput.enumerated() {
            for (k, value) in entry.weights.enumerated() { weight[output * taps + k] = value }
        }
    }
}

import Geometry
import JPEG
import Settings

/// Turns a camera frame into the model's input tensor; the one path shared by the daemon and the CLI:
/// optional region of interest (a normalised rectangle), optional centre crop to the input's aspect
/// ratio, area-averaging resize to the input size, then (value / 255 - mean) / std into NCHW float32.
public struct Preprocessor: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var mean: [Float]
    public var std: [Float]
    public var resize: InferenceSettings.ResizeMode

    public init(width: Int, height: Int, mean: [Float], std: [Float], resize: InferenceSettings.ResizeMode) {
        self.width = width
        self.height = height
        self.mean = mean
        self.std = std
        self.resize = resize
    }

    /// The part of the frame (normalised) that becomes the input: the region of interest, centre-cropped
    /// to the input's aspect ratio when `resize` is `center_crop`.
    public func sourceRegion(imageWidth: Int, imageHeight: Int, regionOfInterest: NormalizedRect?) -> NormalizedRect {
        var region = regionOfInterest ?? .full
        guard resize == .centerCrop, imageWidth > 0, imageHeight > 0 else { return region }
        let regionAspect = (region.width * Double(imageWidth)) / (region.height * Double(imageHeight))
        let targetAspect = Double(width) / Double(height)
        if regionAspect > targetAspect {
            let newWidth = region.width * targetAspect / regionAspect
            region.x += (region.width - newWidth) / 2
            region.width = newWidth
        } else {
            let newHeight = region.height * regionAspect / targetAspect
            region.y += (region.height - newHeight) / 2
            region.height = newHeight
        }
        return region
    }

    /// Writes the input tensor for `image` into `output` (3 x height x width floats).
    public func tensor(from image: RGBImage, regionOfInterest: NormalizedRect? = nil,
                       into output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        var resampler = InputResampler()
        try tensor(from: image, regionOfInterest: regionOfInterest, into: output, resampler: &resampler)
    }

    /// As `tensor(from:regionOfInterest:into:)`, with a resampler kept across frames: resizing, rounding to
    /// 8 bits and normalising in one pass straight into the NCHW tensor, with no intermediate image and
    /// no allocation while the frame geometry stays the same.
    public func tensor(from image: RGBImage, regionOfInterest: NormalizedRect? = nil,
                       into output: UnsafeMutableBufferPointer<Float>, resampler: inout InputResampler) throws(InferenceError) {
        try write(image, regionOfInterest: regionOfInterest, into: .tensor(output), resampler: &resampler)
    }

    /// The same tensor from a JPEG's Y/Cb/Cr planes (`JPEGDecoder.decodePlanes`): each channel averaged
    /// at its own resolution over the same area, then converted to RGB per output pixel. Equal to the RGB
    /// path up to rounding and clamping (libjpeg converts, then the resize averages; here the other way
    /// round) and chroma upsampling: within a few 8-bit levels at sharp colour edges, less elsewhere.
    public func tensor(from image: YCbCrImage, regionOfInterest: NormalizedRect? = nil,
                       into output: UnsafeMutableBufferPointer<Float>, resampler: inout InputResampler) throws(InferenceError) {
        try write(image, regionOfInterest: regionOfInterest, into: .tensor(output), resampler: &resampler)
    }

    /// As `tensor(from:regionOfInterest:into:resampler:)` for any destination: the float tensor, or the
    /// channels-last bytes the plan's input QuantizeLinear makes of it (`ExecutionPlan.inputQuantization`).
    public func write(_ image: YCbCrImage, regionOfInterest: NormalizedRect? = nil,
                      into destination: InputResampler.Destination, resampler: inout InputResampler) throws(InferenceError) {
        guard image.isWellFormed else { throw .image("malformed YCbCr image \(image.width)x\(image.height) with \(image.samples.count) bytes") }
        try resample(imageWidth: image.width, imageHeight: image.height, regionOfInterest: regionOfInterest, count: destination.count) {
            resampler.resample(image, crop: $0, width: width, height: height, scale: $1, offset: $2, into: destination)
        }
    }

    /// The RGB counterpart of `write(_:regionOfInterest:into:resampler:)`.
    public func write(_ image: RGBImage, regionOfInterest: NormalizedRect? = nil,
                      into destination: InputResampler.Destination, resampler: inout InputResampler) throws(InferenceError) {
        guard image.isWellFormed else { throw .image("malformed image \(image.width)x\(image.height) with \(image.pixels.count) bytes") }
        try resample(imageWidth: image.width, imageHeight: image.height, regionOfInterest: regionOfInterest, count: destination.count) {
            resampler.resample(image, crop: $0, width: width, height: height, scale: $1, offset: $2, into: destination)
        }
    }

    /// Checks the request, then runs `body` with the crop in pixels and the normalisation as value * scale +
    /// offset; `body` returns false when the crop holds no pixel.
    private func resample(imageWidth: Int, imageHeight: Int, regionOfInterest: NormalizedRect?, count: Int,
                          _ body: (PixelRect, SIMD3<Float>, SIMD3<Float>) -> Bool) throws(InferenceError) {
        let (crop, scale, offset) = try plan(imageWidth: imageWidth, imageHeight: imageHeight, regionOfInterest: regionOfInterest, count: count)
        guard body(crop, scale, offset) else { throw .image("crop \(crop) of the \(imageWidth)x\(imageHeight) frame is empty") }
    }

    /// Checks the request and gives the crop in pixels and the normalisation as value * scale + offset.
    private func plan(imageWidth: Int, imageHeight: Int, regionOfInterest: NormalizedRect?,
                      count: Int) throws(InferenceError) -> (PixelRect, SIMD3<Float>, SIMD3<Float>) {
        guard mean.count == 3, std.count == 3 else { throw .invalidGraph("mean \(mean) and std \(std) need three values (RGB)") }
        if let regionOfInterest, !regionOfInterest.isValid { throw .image("region of interest \(regionOfInterest) is outside the frame") }
        guard count == 3 * width * height else {
            throw .inputMismatch("model input holds \(count) values, expected \(3 * width * height)")
        }
        let region = sourceRegion(imageWidth: imageWidth, imageHeight: imageHeight, regionOfInterest: regionOfInterest)
        let crop = PixelRect(region, imageWidth: imageWidth, height: imageHeight)
        // (v / 255 - mean) / std  ==  v * (1 / (255 std)) + (-mean / std)
        let std = SIMD3(std[0], std[1], std[2]), mean = SIMD3(mean[0], mean[1], mean[2])
        return (crop, 1 / (255 * std), -mean / std)
    }

    /// Smallest decode size that still leaves the region at least the input size (for DCT-scaled decoding).
    public func decodeSize(imageWidth: Int, imageHeight: Int, regionOfInterest: NormalizedRect?) -> (width: Int, height: Int) {
        let region = sourceRegion(imageWidth: imageWidth, imageHeight: imageHeight, regionOfInterest: regionOfInterest)
        return (Int((Double(width) / max(region.width, 1e-6)).rounded(.up)), Int((Double(height) / max(region.height, 1e-6)).rounded(.up)))
    }
}

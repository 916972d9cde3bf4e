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
        guard image.isWellFormed else { throw .image("malformed image \(image.width)x\(image.height) with \(image.pixels.count) bytes") }
        if let regionOfInterest, !regionOfInterest.isValid { throw .image("region of interest \(regionOfInterest) is outside the frame") }
        let plane = width * height
        guard output.count == 3 * plane else { throw .inputMismatch("model input holds \(output.count) values, expected \(3 * plane)") }
        let region = sourceRegion(imageWidth: image.width, imageHeight: image.height, regionOfInterest: regionOfInterest)
        let resized = region == .full
            ? ImageResize.areaAverage(image, width: width, height: height)
            : ImageResize.cropAndResize(image, region: region, width: width, height: height)
        guard resized.isWellFormed, resized.width == width, resized.height == height else {
            throw .image("region \(region) of the \(image.width)x\(image.height) frame is empty")
        }
        let scale = (0..<3).map { 1 / (255 * std[$0]) }
        let offset = (0..<3).map { -mean[$0] / std[$0] }
        resized.pixels.withUnsafeBufferPointer { pixels in
            for channel in 0..<3 {
                let base = channel * plane, a = scale[channel], b = offset[channel]
                for index in 0..<plane { output[base + index] = Float(pixels[index * 3 + channel]) * a + b }
            }
        }
    }

    /// Smallest decode size that still leaves the region at least the input size (for DCT-scaled decoding).
    public func decodeSize(imageWidth: Int, imageHeight: Int, regionOfInterest: NormalizedRect?) -> (width: Int, height: Int) {
        let region = sourceRegion(imageWidth: imageWidth, imageHeight: imageHeight, regionOfInterest: regionOfInterest)
        return (Int((Double(width) / max(region.width, 1e-6)).rounded(.up)), Int((Double(height) / max(region.height, 1e-6)).rounded(.up)))
    }
}

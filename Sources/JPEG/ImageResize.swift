import Geometry

/// Resizing and cropping of RGB images, plain loops with no dependencies.
/// One-off calls; a loop resizing every frame keeps an `AreaResizer` instead (no allocation per frame).
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
        var resizer = AreaResizer()
        var output = RGBImage(width: width, height: height, pixels: [])
        resizer.resize(image, width: width, height: height, into: &output)
        return output
    }

    /// The pixels inside `region` (normalised), rounded outwards to whole pixels and clamped to the
    /// image; at least one pixel. An invalid region yields the whole image.
    public static func crop(_ image: RGBImage, to region: NormalizedRect) -> RGBImage {
        guard image.isWellFormed, region.isValid, region != .full else { return image }
        let rect = PixelRect(region, imageWidth: image.width, height: image.height)
        var pixels = [UInt8]()
        pixels.reserveCapacity(rect.width * rect.height * 3)
        for row in rect.top..<(rect.top + rect.height) {
            let start = (row * image.width + rect.left) * 3
            pixels.append(contentsOf: image.pixels[start..<(start + rect.width * 3)])
        }
        return RGBImage(width: rect.width, height: rect.height, pixels: pixels)
    }

    /// Crop to a region of interest, then area-average to the model's input size: the classifier's
    /// preprocessing. Reads the region in place (no cropped copy).
    public static func cropAndResize(_ image: RGBImage, region: NormalizedRect, width: Int, height: Int) -> RGBImage {
        guard image.isWellFormed, width > 0, height > 0 else { return areaAverage(image, width: width, height: height) }
        var resizer = AreaResizer()
        var output = RGBImage(width: width, height: height, pixels: [])
        resizer.resize(image, crop: PixelRect(region, imageWidth: image.width, height: image.height), width: width, height: height, into: &output)
        return output
    }
}

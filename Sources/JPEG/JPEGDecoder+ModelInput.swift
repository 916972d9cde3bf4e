import Geometry

extension JPEGDecoder {
    /// The classifier's preprocessing in one call: decodes at the fastest DCT scale at which the
    /// region of interest still covers `width` x `height` pixels, and area-averages the region to
    /// exactly `width` x `height`. For a 1280x720 frame and a 224x224 input this decodes at 1/2
    /// scale instead of full size. (A frame loop keeps an `AreaResizer` and a decoded image instead.)
    public func decode(_ data: [UInt8], region: NormalizedRect, width: Int, height: Int) throws(JPEGError) -> RGBImage {
        let region = region.isValid ? region : .full
        var decoded = RGBImage(width: 0, height: 0, pixels: [])
        try withBytes(data) { (buffer) throws(JPEGError) in
            let header = try header(buffer)
            let scale = modelInputScale(header: header, region: region, width: width, height: height)
            try decode(buffer, scale: scale, header: header, into: &decoded)
        }
        return ImageResize.cropAndResize(decoded, region: region, width: width, height: height)
    }

    /// The DCT scale for feeding `region` of a frame with `header` to a `width` x `height` input:
    /// the fastest one at which the region still has at least that many pixels (never above 1/1).
    public func modelInputScale(header: JPEGHeader, region: NormalizedRect, width: Int, height: Int) -> ScalingFactor {
        let region = region.isValid ? region : .full
        // Scale the target up by the region's share of the frame, so the crop still has enough pixels.
        let needWidth = Int((Double(width) / region.width).rounded(.up))
        let needHeight = Int((Double(height) / region.height).rounded(.up))
        return fastScalingFactor(forWidth: header.width, height: header.height,
                                 atLeastWidth: min(needWidth, header.width), atLeastHeight: min(needHeight, header.height))
    }
}

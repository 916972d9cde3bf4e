extension JPEGDecoder {
    /// The classifier's preprocessing in one call: decodes at the smallest DCT scale at which the
    /// region of interest still covers `width` x `height` pixels, crops the region, and area-averages
    /// it to exactly `width` x `height`. For a 1280x720 frame and a 224x224 input this decodes at
    /// 3/8 scale instead of full size.
    public func decode(_ data: [UInt8], region: NormalizedRect, width: Int, height: Int) throws(JPEGError) -> RGBImage {
        let region = region.isValid ? region : .full
        let header = try header(data)
        // Scale the target up by the region's share of the frame, so the crop still has enough pixels.
        let needWidth = Int((Double(width) / region.width).rounded(.up))
        let needHeight = Int((Double(height) / region.height).rounded(.up))
        let decoded = try decode(data, atLeastWidth: min(needWidth, header.width), atLeastHeight: min(needHeight, header.height))
        return ImageResize.cropAndResize(decoded, region: region, width: width, height: height)
    }
}

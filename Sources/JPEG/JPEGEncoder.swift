import CTurboJPEG

/// Encodes RGB or YUYV frames to JPEG through one libturbojpeg compressor handle, reused.
///
/// Not thread-safe (the handle keeps per-call state): one encoder per camera or per actor.
public final class JPEGEncoder {
    private let handle: tjhandle
    /// libturbojpeg 2.1.5: once a compressor handle has written a progressive JPEG, the baseline JPEGs it
    /// writes afterwards are corrupt (Huffman tables for the progressive scans stay on the handle; decoders
    /// report "bad Huffman code"). Progressive encodes therefore get a handle of their own, made on first use.
    private var progressiveHandle: tjhandle?
    /// Scratch planar 4:2:2 buffer for YUYV frames, reused between frames of the same size.
    private var planar: [UInt8] = []

    /// Chroma subsampling for RGB input.
    public enum Subsampling: Sendable {
        /// Full chroma: best for small images that get scrutinised.
        case s444
        /// Half horizontal and vertical chroma: what cameras and most tools produce.
        case s420
        /// Luma only: a greyscale JPEG.
        case gray
        /// Half horizontal chroma (4:2:2), half vertical (4:4:0), quarter horizontal (4:1:1): rarer
        /// layouts some cameras and tools write.
        case s422, s440, s411

        var turbo: Int32 {
            switch self {
            case .s444: Int32(TJSAMP_444.rawValue)
            case .s420: Int32(TJSAMP_420.rawValue)
            case .gray: Int32(TJSAMP_GRAY.rawValue)
            case .s422: Int32(TJSAMP_422.rawValue)
            case .s440: Int32(TJSAMP_440.rawValue)
            case .s411: Int32(TJSAMP_411.rawValue)
            }
        }
    }

    public init() throws(JPEGError) {
        guard let handle = tjInitCompress() else {
            throw JPEGError(kind: .fatal(JPEGDecoder.globalErrorText()), call: "tjInitCompress")
        }
        self.handle = handle
    }

    deinit {
        tjDestroy(handle)
        if let progressiveHandle { tjDestroy(progressiveHandle) }
    }

    /// Encodes an RGB image (4:2:0 baseline unless told otherwise). Quality 1...100.
    public func encode(_ image: RGBImage, quality: Int, subsampling: Subsampling = .s420, progressive: Bool = false) throws(JPEGError) -> [UInt8] {
        guard image.isWellFormed else {
            throw JPEGError(kind: .invalidArgument("\(image.pixels.count) bytes for \(image.width)x\(image.height) RGB"), call: "tjCompress2")
        }
        return try compress(image.pixels, width: image.width, height: image.height,
                            pixelFormat: Int32(TJPF_RGB.rawValue), subsampling: subsampling.turbo,
                            quality: quality, progressive: progressive)
    }

    /// Encodes a packed YUYV (YUY2, 4:2:2) frame as a 4:2:2 JPEG without going through RGB:
    /// the samples are only rearranged into planes, so no colour conversion is lost.
    /// `bytesPerLine` is the driver's stride (0 = `width * 2`). `limitedRange`: the samples use
    /// video range (Y 16...235, C 16...240, the V4L2 default for YUYV) and are expanded to the full
    /// range JPEG (JFIF) expects, so black is black rather than dark grey.
    public func encodeYUYV(_ yuyv: [UInt8], width: Int, height: Int, quality: Int, bytesPerLine: Int = 0, limitedRange: Bool = false) throws(JPEGError) -> [UInt8] {
        try withBytes(yuyv) { (buffer) throws(JPEGError) in
            try encodeYUYV(buffer, width: width, height: height, quality: quality, bytesPerLine: bytesPerLine, limitedRange: limitedRange)
        }
    }

    /// Limited-to-full range tables: Y' = (Y - 16) * 255 / 219, C' = (C - 128) * 255 / 224 + 128.
    private static let lumaExpansion: [UInt8] = (0..<256).map { UInt8(clamping: (($0 - 16) * 255 + 109) / 219) }
    private static let chromaExpansion: [UInt8] = (0..<256).map { value in
        let scaled = Double(value - 128) * 255 / 224 + 128
        return UInt8(clamping: Int(scaled.rounded()))
    }

    /// As `encodeYUYV(_:width:height:quality:bytesPerLine:)`, straight from a (mmap'ed) buffer.
    public func encodeYUYV(_ yuyv: UnsafeRawBufferPointer, width: Int, height: Int, quality: Int, bytesPerLine: Int = 0, limitedRange: Bool = false) throws(JPEGError) -> [UInt8] {
        let call = "tjCompressFromYUV"
        let stride = bytesPerLine == 0 ? width * 2 : bytesPerLine
        guard width > 0, height > 0, width % 2 == 0 else {
            throw JPEGError(kind: .invalidArgument("YUYV needs a positive even width, got \(width)x\(height)"), call: call)
        }
        guard stride >= width * 2, yuyv.count >= stride * (height - 1) + width * 2 else {
            throw JPEGError(kind: .invalidArgument("\(yuyv.count) bytes for \(width)x\(height) YUYV with stride \(stride)"), call: call)
        }
        try checkQuality(quality, call: call)
        let chromaWidth = width / 2
        let planeSize = width * height
        let chromaSize = chromaWidth * height
        if planar.count != planeSize + 2 * chromaSize {
            planar = [UInt8](repeating: 0, count: planeSize + 2 * chromaSize)
        }
        let identity = (0..<256).map { UInt8($0) }
        let luma = limitedRange ? Self.lumaExpansion : identity
        let chroma = limitedRange ? Self.chromaExpansion : identity
        planar.withUnsafeMutableBufferPointer { out in
            for row in 0..<height {
                let source = row * stride
                let yRow = row * width
                let cRow = planeSize + row * chromaWidth
                for pair in 0..<chromaWidth {
                    let offset = source + pair * 4
                    out[yRow + pair * 2] = luma[Int(yuyv[offset])]
                    out[cRow + pair] = chroma[Int(yuyv[offset + 1])]
                    out[yRow + pair * 2 + 1] = luma[Int(yuyv[offset + 2])]
                    out[cRow + chromaSize + pair] = chroma[Int(yuyv[offset + 3])]
                }
            }
        }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = planar.withUnsafeBufferPointer { input in
            tjCompressFromYUV(handle, input.baseAddress, Int32(width), 1, Int32(height), Int32(TJSAMP_422.rawValue),
                              &output, &size, Int32(quality), 0)
        }
        return try takeOutput(status: status, output: output, size: size, call: call)
    }

    /// Any pixel format libturbojpeg accepts (tests use it to make greyscale and CMYK files).
    func compress(_ pixels: [UInt8], width: Int, height: Int, pixelFormat: Int32, subsampling: Int32,
                  quality: Int, progressive: Bool) throws(JPEGError) -> [UInt8] {
        try checkQuality(quality, call: "tjCompress2")
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let flags = progressive ? Int32(TJFLAG_PROGRESSIVE) : 0
        let target = progressive ? try progressiveCompressor() : handle
        let status = pixels.withUnsafeBufferPointer { input in
            tjCompress2(target, input.baseAddress, Int32(width), 0, Int32(height), pixelFormat,
                        &output, &size, subsampling, Int32(quality), flags)
        }
        return try takeOutput(status: status, output: output, size: size, call: "tjCompress2")
    }

    private func progressiveCompressor() throws(JPEGError) -> tjhandle {
        if let progressiveHandle { return progressiveHandle }
        guard let made = tjInitCompress() else {
            throw JPEGError(kind: .fatal(JPEGDecoder.globalErrorText()), call: "tjInitCompress")
        }
        progressiveHandle = made
        return made
    }

    private func checkQuality(_ quality: Int, call: String) throws(JPEGError) {
        guard (1...100).contains(quality) else {
            throw JPEGError(kind: .invalidArgument("quality \(quality) is not in 1...100"), call: call)
        }
    }

    /// Copies libturbojpeg's output into an array and frees it, on success and on failure alike.
    private func takeOutput(status: Int32, output: UnsafeMutablePointer<UInt8>?, size: UInt, call: String) throws(JPEGError) -> [UInt8] {
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            let text = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
            throw JPEGError(kind: .fatal(text), call: call)
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

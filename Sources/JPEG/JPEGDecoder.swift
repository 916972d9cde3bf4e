import CTurboJPEG

/// Decodes JPEG data to RGB through one libturbojpeg decompressor handle, created once and reused
/// for every frame (creating a handle allocates libjpeg's state: too slow per frame).
///
/// Not thread-safe: libturbojpeg handles keep per-call state (error text, scratch buffers).
/// Give each camera or worker its own decoder, or confine it to one actor.
///
/// Every libjpeg warning is an error here: a camera frame that decodes "with a warning" is a damaged
/// frame whose missing part libjpeg filled with grey, and must not reach the classifier.
public final class JPEGDecoder {
    private var handle: tjhandle
    /// The DCT scaling factors libjpeg-turbo can decode to without upscaling, smallest first.
    public let scalingFactors: [ScalingFactor]

    /// A DCT-domain scaling factor (`num/denom`, e.g. 1/8, 1/4, 3/8, 1/2, ..., 1/1).
    public struct ScalingFactor: Sendable, Equatable, CustomStringConvertible {
        public var numerator: Int
        public var denominator: Int
        public init(numerator: Int, denominator: Int) {
            self.numerator = numerator
            self.denominator = denominator
        }
        /// libjpeg's rounding: ceil(dimension * num / denom) (the TJSCALED macro).
        public func scaled(_ dimension: Int) -> Int {
            (dimension * numerator + denominator - 1) / denominator
        }
        public var description: String { "\(numerator)/\(denominator)" }
        /// 1/1, 1/2, 1/4 or 1/8: the factors libjpeg-turbo decodes with its fast IDCTs.
        public var isPowerOfTwoReduction: Bool {
            [1, 2, 4, 8].contains { numerator * $0 == denominator }
        }
    }

    /// Flags for every decode: stop at the first warning (a damaged frame is rejected anyway, so
    /// decoding the rest is wasted time) and limit progressive scans (a crafted progressive file
    /// with thousands of scans would otherwise burn CPU).
    private static let decodeFlags = Int32(TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

    public init() throws(JPEGError) {
        guard let handle = tjInitDecompress() else {
            throw JPEGError(kind: .fatal(Self.globalErrorText()), call: "tjInitDecompress")
        }
        self.handle = handle
        var count: Int32 = 0
        var factors: [ScalingFactor] = []
        if let list = tjGetScalingFactors(&count) {
            for index in 0..<Int(count) {
                let factor = ScalingFactor(numerator: Int(list[index].num), denominator: Int(list[index].denom))
                if factor.numerator <= factor.denominator { factors.append(factor) }
            }
        }
        if factors.isEmpty { factors = [ScalingFactor(numerator: 1, denominator: 1)] }
        // Smallest first, so the first factor that still covers the target is the cheapest decode.
        self.scalingFactors = factors.sorted {
            $0.numerator * $1.denominator < $1.numerator * $0.denominator
        }
    }

    deinit {
        tjDestroy(handle)
    }

    // MARK: - Header

    /// Reads width, height, subsampling and colour space without decoding.
    public func header(_ data: [UInt8]) throws(JPEGError) -> JPEGHeader {
        try withBytes(data) { (buffer) throws(JPEGError) in try header(buffer) }
    }

    /// Reads the header straight from a buffer (e.g. an mmap'ed V4L2 buffer) without copying it.
    public func header(_ data: UnsafeRawBufferPointer) throws(JPEGError) -> JPEGHeader {
        let base = try Self.checkSOI(data, call: "tjDecompressHeader3")
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let status = tjDecompressHeader3(handle, base, UInt(data.count), &width, &height, &subsampling, &colorspace)
        if status != 0 {
            let failure = error(call: "tjDecompressHeader3")
            resetHandle()
            throw failure
        }
        guard width > 0, height > 0 else {
            // libturbojpeg 2.1 returns success with no size when the data ends inside the header.
            resetHandle()
            throw JPEGError(kind: .fatal("no frame header (truncated before SOF/SOS)"), call: "tjDecompressHeader3")
        }
        return JPEGHeader(width: Int(width), height: Int(height), subsampling: subsampling, colorspace: colorspace)
    }

    // MARK: - Decode

    /// Decodes at full size to RGB. Greyscale JPEGs come out as RGB with R = G = B.
    public func decode(_ data: [UInt8]) throws(JPEGError) -> RGBImage {
        try withBytes(data) { (buffer) throws(JPEGError) in
            try decode(buffer, scale: ScalingFactor(numerator: 1, denominator: 1))
        }
    }

    /// Decodes straight to the smallest DCT scale whose result is still at least
    /// `atLeastWidth` x `atLeastHeight` (full size when even 1/1 is smaller). The caller resizes
    /// the rest of the way (`ImageResize.areaAverage`): decoding a 1280x720 frame at 3/8 costs a
    /// fraction of a full decode.
    public func decode(_ data: [UInt8], atLeastWidth: Int, atLeastHeight: Int) throws(JPEGError) -> RGBImage {
        try withBytes(data) { (buffer) throws(JPEGError) in
            try decode(buffer, atLeastWidth: atLeastWidth, atLeastHeight: atLeastHeight)
        }
    }

    /// As `decode(_:atLeastWidth:atLeastHeight:)`, from a buffer without copying it.
    public func decode(_ data: UnsafeRawBufferPointer, atLeastWidth: Int, atLeastHeight: Int) throws(JPEGError) -> RGBImage {
        let header = try header(data)
        let scale = scalingFactor(forWidth: header.width, height: header.height, atLeastWidth: atLeastWidth, atLeastHeight: atLeastHeight)
        return try decode(data, scale: scale, header: header)
    }

    /// The smallest scaling factor that keeps both dimensions at least the target (1/1 if none does).
    public func scalingFactor(forWidth width: Int, height: Int, atLeastWidth: Int, atLeastHeight: Int) -> ScalingFactor {
        for factor in scalingFactors where factor.scaled(width) >= atLeastWidth && factor.scaled(height) >= atLeastHeight {
            return factor
        }
        return ScalingFactor(numerator: 1, denominator: 1)
    }

    /// The scaling factor that decodes fastest while keeping both dimensions at least the target: the
    /// smallest power-of-two factor (1/8, 1/4, 1/2, 1/1) that covers it. libjpeg-turbo has dedicated
    /// reduced IDCTs for those (SIMD on Arm) and a SIMD 8x8 IDCT for 1/1; the other factors (3/8, 5/8,
    /// 3/4, 7/8) go through generic scalar NxN IDCTs, which cost more than the larger power-of-two
    /// decode saves (1280x720 camera frame on x86: 1/2 in 0.88 ms, 3/8 in 1.13 ms, tjbench).
    public func fastScalingFactor(forWidth width: Int, height: Int, atLeastWidth: Int, atLeastHeight: Int) -> ScalingFactor {
        for factor in scalingFactors where factor.isPowerOfTwoReduction
            && factor.scaled(width) >= atLeastWidth && factor.scaled(height) >= atLeastHeight {
            return factor
        }
        return ScalingFactor(numerator: 1, denominator: 1)
    }

    /// Decodes at the given DCT scaling factor.
    public func decode(_ data: UnsafeRawBufferPointer, scale: ScalingFactor) throws(JPEGError) -> RGBImage {
        try decode(data, scale: scale, header: header(data))
    }

    private func decode(_ data: UnsafeRawBufferPointer, scale: ScalingFactor, header: JPEGHeader) throws(JPEGError) -> RGBImage {
        var image = RGBImage(width: 0, height: 0, pixels: [])
        try decode(data, scale: scale, header: header, into: &image)
        return image
    }

    /// Decodes at `scale` into `image`, reusing its pixel storage when the decoded size matches: a camera
    /// loop decoding same-size frames into one image allocates nothing per frame. `header` must be
    /// this data's header (from `header(_:)`). On failure `image` keeps its size with undefined pixels.
    public func decode(_ data: UnsafeRawBufferPointer, scale: ScalingFactor, header: JPEGHeader, into image: inout RGBImage) throws(JPEGError) {
        let base = try Self.checkSOI(data, call: "tjDecompress2")
        if header.isFourComponent { throw Self.fourComponentError(header, call: "tjDecompress2") }
        let width = scale.scaled(header.width)
        let height = scale.scaled(header.height)
        if image.pixels.count != width * height * 3 { image.pixels = [UInt8](repeating: 0, count: width * height * 3) }
        image.width = width
        image.height = height
        let status = image.pixels.withUnsafeMutableBufferPointer { output in
            tjDecompress2(handle, base, UInt(data.count), output.baseAddress, Int32(width), 0, Int32(height),
                          Int32(TJPF_RGB.rawValue), Self.decodeFlags)
        }
        if status != 0 {
            let failure = error(call: "tjDecompress2")
            resetHandle()
            throw failure
        }
    }

    /// Decodes at `scale` into Y, Cb and Cr planes (Y alone for greyscale) without libjpeg's chroma
    /// upsampling and colour conversion, reusing `image`'s storage when the sizes match. `header` must be
    /// this data's header; `header.decodesToPlanes` must be true (CMYK/YCCK are refused as by `decode`,
    /// RGB-coded or unusually sampled JPEGs with `.unsupported`: decode those to RGB).
    /// On failure `image` keeps its size with undefined samples.
    public func decodePlanes(_ data: UnsafeRawBufferPointer, scale: ScalingFactor, header: JPEGHeader,
                             into image: inout YCbCrImage) throws(JPEGError) {
        let call = "tjDecompressToYUVPlanes"
        let base = try Self.checkSOI(data, call: call)
        if header.isFourComponent { throw Self.fourComponentError(header, call: call) }
        guard header.decodesToPlanes, let factors = YCbCrImage.chromaFactors(subsampling: header.subsampling) else {
            throw JPEGError(kind: .unsupported("colour space \(header.colorspace), subsampling \(header.subsampling) has no YCbCr planes"), call: call)
        }
        let width = scale.scaled(header.width), height = scale.scaled(header.height)
        let subsampling = header.subsampling
        let planeCount = header.isGrayscale ? 1 : 3
        let lumaWidth = Int(tjPlaneWidth(0, Int32(width), subsampling)), lumaHeight = Int(tjPlaneHeight(0, Int32(height), subsampling))
        let chromaWidth = planeCount == 3 ? Int(tjPlaneWidth(1, Int32(width), subsampling)) : 0
        let chromaHeight = planeCount == 3 ? Int(tjPlaneHeight(1, Int32(height), subsampling)) : 0
        guard lumaWidth >= width, lumaHeight >= height, planeCount == 1 || (chromaWidth > 0 && chromaHeight > 0) else {
            throw JPEGError(kind: .fatal(Self.globalErrorText()), call: "tjPlaneWidth")
        }
        let count = lumaWidth * lumaHeight + (planeCount - 1) * chromaWidth * chromaHeight
        if image.samples.count != count { image.samples = [UInt8](repeating: 0, count: count) }
        image.width = width
        image.height = height
        image.chromaFactorX = planeCount == 3 ? factors.x : 1
        image.chromaFactorY = planeCount == 3 ? factors.y : 1
        image.planeCount = planeCount
        image.lumaWidth = lumaWidth
        image.lumaHeight = lumaHeight
        image.chromaWidth = chromaWidth
        image.chromaHeight = chromaHeight
        let offsets = (image.planeOffset(1), image.planeOffset(2))
        let status = image.samples.withUnsafeMutableBufferPointer { samples -> Int32 in
            guard let y = samples.baseAddress else { return -1 }
            // Plane pointers and strides on the stack: nothing allocated per frame on this side.
            return withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt8>?.self, capacity: 3) { planes in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3) { strides in
                    planes[0] = y
                    planes[1] = planeCount == 3 ? y + offsets.0 : nil
                    planes[2] = planeCount == 3 ? y + offsets.1 : nil
                    strides[0] = Int32(lumaWidth)
                    strides[1] = Int32(chromaWidth)
                    strides[2] = Int32(chromaWidth)
                    return tjDecompressToYUVPlanes(handle, base, UInt(data.count), planes.baseAddress, Int32(width),
                                                   strides.baseAddress, Int32(height), Self.decodeFlags)
                }
            }
        }
        if status != 0 {
            let failure = error(call: call)
            resetHandle()
            throw failure
        }
    }

    // MARK: - Errors

    /// Adobe CMYK/YCCK JPEGs (often stored inverted) have no single right RGB conversion, and no camera
    /// we support produces them: refuse by name rather than guess colours.
    private static func fourComponentError(_ header: JPEGHeader, call: String) -> JPEGError {
        let space = header.colorspace == Int32(TJCS_CMYK.rawValue) ? "CMYK" : "YCCK"
        return JPEGError(kind: .unsupported("\(space) JPEG: only RGB, YCbCr and greyscale are decoded"), call: call)
    }

    /// libturbojpeg 2.1.5's tjDecompressHeader3 returns from libjpeg's error longjmp without
    /// aborting the decompressor, so the next header read on the same handle continues the broken
    /// state ("image has no size" for a valid file). Failures are rare (damaged frames only), so a
    /// fresh handle after each one is cheap and makes the decoder's behaviour independent of history.
    private func resetHandle() {
        guard let fresh = tjInitDecompress() else { return }
        tjDestroy(handle)
        handle = fresh
    }

    private static func checkSOI(_ data: UnsafeRawBufferPointer, call: String) throws(JPEGError) -> UnsafePointer<UInt8> {
        guard data.count >= 2, data[0] == 0xFF, data[1] == 0xD8,
              let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw JPEGError(kind: .notJPEG, call: call)
        }
        return UnsafePointer(base)
    }

    /// Turns libturbojpeg's last error into a JPEGError: warnings are corruption, the rest fatal.
    private func error(call: String) -> JPEGError {
        let text = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
        if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) {
            return JPEGError(kind: .corrupt(text), call: call)
        }
        return JPEGError(kind: .fatal(text), call: call)
    }

    static func globalErrorText() -> String {
        tjGetErrorStr2(nil).map { String(cString: $0) } ?? "unknown error"
    }
}

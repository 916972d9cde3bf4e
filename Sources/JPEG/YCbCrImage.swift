import CTurboJPEG

/// A JPEG decoded without colour conversion: its Y plane and, unless greyscale, its Cb and Cr planes
/// at chroma resolution (`JPEGDecoder.decodePlanes`). Samples are JFIF full-range YCbCr.
///
/// Plane sizes are libturbojpeg's (`tjPlaneWidth`/`tjPlaneHeight`): the Y plane is the image padded to
/// whole chroma samples (e.g. 642 wide for a 641-pixel 4:2:0 image), each chroma plane that size divided
/// by the chroma factors. Rows are unpadded (stride = plane width).
public struct YCbCrImage: Sendable, Equatable {
    /// Image width in pixels (the visible part of the Y plane).
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Luma pixels per chroma sample across (1, 2 or 4) and down (1 or 2); 1 for greyscale.
    public var chromaFactorX: Int
    public var chromaFactorY: Int
    /// 1 (greyscale: Y only) or 3 (Y, Cb, Cr).
    public var planeCount: Int
    /// Y plane width (its row stride) and height.
    public var lumaWidth: Int
    public var lumaHeight: Int
    /// Cb and Cr plane width (their row stride) and height; 0 for greyscale.
    public var chromaWidth: Int
    public var chromaHeight: Int
    /// The Y plane, then the Cb plane, then the Cr plane, back to back.
    public var samples: [UInt8]

    /// An empty image, to be filled by `JPEGDecoder.decodePlanes(_:scale:header:into:)`.
    public init() {
        width = 0
        height = 0
        chromaFactorX = 1
        chromaFactorY = 1
        planeCount = 1
        lumaWidth = 0
        lumaHeight = 0
        chromaWidth = 0
        chromaHeight = 0
        samples = []
    }

    /// Offset of plane `index` (0 Y, 1 Cb, 2 Cr) in `samples`.
    public func planeOffset(_ index: Int) -> Int {
        index == 0 ? 0 : lumaWidth * lumaHeight + (index - 1) * chromaWidth * chromaHeight
    }

    /// True when the sizes are consistent with each other and with `samples`.
    public var isWellFormed: Bool {
        guard width > 0, height > 0, lumaWidth >= width, lumaHeight >= height, planeCount == 1 || planeCount == 3,
              chromaFactorX >= 1, chromaFactorY >= 1 else { return false }
        if planeCount == 3 {
            guard chromaWidth * chromaFactorX >= width, chromaHeight * chromaFactorY >= height else { return false }
        }
        return samples.count == lumaWidth * lumaHeight + (planeCount - 1) * chromaWidth * chromaHeight
    }

    /// Luma pixels per chroma sample for a libturbojpeg subsampling, nil when the decoder cannot give planes.
    static func chromaFactors(subsampling: Int32) -> (x: Int, y: Int)? {
        switch subsampling {
        case Int32(TJSAMP_444.rawValue), Int32(TJSAMP_GRAY.rawValue): (1, 1)
        case Int32(TJSAMP_422.rawValue): (2, 1)
        case Int32(TJSAMP_420.rawValue): (2, 2)
        case Int32(TJSAMP_440.rawValue): (1, 2)
        case Int32(TJSAMP_411.rawValue): (4, 1)
        default: nil
        }
    }
}

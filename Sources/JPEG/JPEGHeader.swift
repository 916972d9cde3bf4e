import CTurboJPEG

/// What the JPEG header says, read without decoding the image.
public struct JPEGHeader: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// libturbojpeg chroma subsampling (`TJSAMP_444` 0, `_422` 1, `_420` 2, `_GRAY` 3, `_440` 4, `_411` 5), -1 if unusual.
    public var subsampling: Int32
    /// libturbojpeg colour space (`TJCS_RGB` 0, `_YCbCr` 1, `_GRAY` 2, `_CMYK` 3, `_YCCK` 4).
    public var colorspace: Int32

    public init(width: Int, height: Int, subsampling: Int32, colorspace: Int32) {
        self.width = width
        self.height = height
        self.subsampling = subsampling
        self.colorspace = colorspace
    }

    /// True for four-component images (CMYK or YCCK), which we refuse to decode to RGB.
    public var isFourComponent: Bool {
        colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
    }

    /// True for single-component (greyscale) images.
    public var isGrayscale: Bool {
        colorspace == Int32(TJCS_GRAY.rawValue)
    }

    /// True when `JPEGDecoder.decodePlanes` can decode it: YCbCr or greyscale with a subsampling
    /// libturbojpeg names (not RGB-coded, four-component or unusually sampled JPEGs).
    public var decodesToPlanes: Bool {
        (colorspace == Int32(TJCS_YCbCr.rawValue) || isGrayscale) && YCbCrImage.chromaFactors(subsampling: subsampling) != nil
    }
}

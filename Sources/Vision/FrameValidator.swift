import JPEG
import V4L2

/// One frame as the camera delivered it, before validation.
public struct RawFrame: Sendable, Equatable {
    public var bytes: [UInt8]
    /// The negotiated format (pixel format, size, stride).
    public var format: PixelFormat
    /// The driver's frame counter.
    public var sequence: UInt32

    public init(bytes: [UInt8], format: PixelFormat, sequence: UInt32 = 0) {
        self.bytes = bytes
        self.format = format
        self.sequence = sequence
    }
}

/// Why a frame was rejected.
public enum FrameProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than any real frame (a USB transfer that delivered a fragment).
    case tooSmall(Int)
    /// The data does not start with SOI followed by a marker (FF D8 FF).
    case noStartOfImage
    /// No EOI (FF D9) in the last bytes: the frame was cut short.
    case noEndOfImage
    /// libjpeg-turbo failed or warned while decoding.
    case undecodable(JPEGError)
    /// A YUYV buffer shorter than the negotiated size.
    case shortRawFrame(got: Int, expected: Int)
    /// The driver flagged the buffer with V4L2_BUF_FLAG_ERROR.
    case driverFlaggedError
    /// A pixel format we neither validate nor encode.
    case unsupportedFormat(String)

    public var description: String {
        switch self {
        case .tooSmall(let count): "frame of \(count) bytes is too small"
        case .noStartOfImage: "no JPEG start-of-image marker"
        case .noEndOfImage: "no JPEG end-of-image marker near the end"
        case .undecodable(let error): "\(error)"
        case .shortRawFrame(let got, let expected): "raw frame of \(got) bytes, expected \(expected)"
        case .driverFlaggedError: "driver flagged the buffer as erroneous"
        case .unsupportedFormat(let format): "unsupported pixel format \(format)"
        }
    }
}

/// A frame that passed validation: always a JPEG, plus a small decoded copy for the quality gate.
public struct ValidFrame: Sendable {
    public var jpeg: [UInt8]
    public var width: Int
    public var height: Int
    /// The camera's pixel format (`MJPG`, `YUYV`).
    public var sourceFormat: String
    /// A DCT-scaled decode at least the quality gate's analysis width.
    public var preview: RGBImage
}

/// Checks frames before anyone uses them and turns every valid one into a JPEG. Owns a decoder and an
/// encoder (libturbojpeg handles, reused), so it belongs to one camera; not thread-safe.
public final class FrameValidator {
    /// Smaller frames are fragments: no real JPEG of a duct is this small (ustreamer drops < 128 bytes).
    public let minimumBytes: Int
    /// Many UVC cameras pad the buffer after EOI, so EOI is searched in this many final bytes.
    public let endOfImageWindow: Int
    /// Preview width for the quality gate.
    public let previewWidth: Int
    private let decoder: JPEGDecoder
    private let encoder: JPEGEncoder

    public init(minimumBytes: Int = 128, endOfImageWindow: Int = 1024, previewWidth: Int = 160) throws(JPEGError) {
        self.minimumBytes = minimumBytes
        self.endOfImageWindow = endOfImageWindow
        self.previewWidth = previewWidth
        decoder = try JPEGDecoder()
        encoder = try JPEGEncoder()
    }

    /// The structural checks, without decoding: returns the length up to and including EOI
    /// (the padding after it is dropped from the stored snapshot).
    public static func checkStructure(_ bytes: [UInt8], minimumBytes: Int = 128, endOfImageWindow: Int = 1024) -> Result<Int, FrameProblem> {
        guard bytes.count >= max(minimumBytes, 4) else { return .failure(.tooSmall(bytes.count)) }
        guard bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF else { return .failure(.noStartOfImage) }
        let lowest = max(2, bytes.count - endOfImageWindow)
        var index = bytes.count - 2
        while index >= lowest {
            if bytes[index] == 0xFF && bytes[index + 1] == 0xD9 { return .success(index + 2) }
            index -= 1
        }
        return .failure(.noEndOfImage)
    }

    /// Validates a JPEG frame (structure, then a full entropy decode at a small DCT scale so libjpeg
    /// warnings surface) or encodes a YUYV frame.
    public func validate(_ frame: RawFrame, jpegQuality: Int) -> Result<ValidFrame, FrameProblem> {
        switch frame.format.pixelFormat {
        case .mjpeg, FourCC("JPEG"):
            return validateJPEG(frame.bytes, sourceFormat: frame.format.pixelFormat.description)
        case .yuyv:
            let stride = frame.format.bytesPerLine > 0 ? frame.format.bytesPerLine : frame.format.width * 2
            let expected = stride * (frame.format.height - 1) + frame.format.width * 2
            guard frame.bytes.count >= expected else { return .failure(.shortRawFrame(got: frame.bytes.count, expected: expected)) }
            do {
                let jpeg = try encoder.encodeYUYV(frame.bytes, width: frame.format.width, height: frame.format.height,
                                                  quality: jpegQuality, bytesPerLine: stride,
                                                  limitedRange: !frame.format.isFullRangeYCbCr)
                return validateJPEG(jpeg, sourceFormat: "YUYV")
            } catch {
                return .failure(.undecodable(error))
            }
        default:
            return .failure(.unsupportedFormat(frame.format.pixelFormat.description))
        }
    }

    /// Validates JPEG bytes from any source (a replayed file, a camera buffer).
    public func validateJPEG(_ bytes: [UInt8], sourceFormat: String = "MJPG") -> Result<ValidFrame, FrameProblem> {
        let end: Int
        switch Self.checkStructure(bytes, minimumBytes: minimumBytes, endOfImageWindow: endOfImageWindow) {
        case .failure(let problem): return .failure(problem)
        case .success(let length): end = length
        }
        let jpeg = end == bytes.count ? bytes : Array(bytes[..<end])
        do {
            let header = try decoder.header(jpeg)
            let previewHeight = max(1, header.height * previewWidth / max(header.width, 1))
            let preview = try decoder.decode(jpeg, atLeastWidth: min(previewWidth, header.width), atLeastHeight: min(previewHeight, header.height))
            return .success(ValidFrame(jpeg: jpeg, width: header.width, height: header.height, sourceFormat: sourceFormat, preview: preview))
        } catch {
            return .failure(.undecodable(error))
        }
    }
}

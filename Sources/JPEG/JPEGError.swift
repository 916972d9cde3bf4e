/// A JPEG failure: the kind, the libturbojpeg call that reported it, and libjpeg's own text.
public struct JPEGError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The data does not start like a JPEG (empty, or no SOI marker).
        case notJPEG
        /// libjpeg decoded with a warning ("Premature end of JPEG file", "Corrupt JPEG data: ...").
        /// On a camera frame a warning means the frame is damaged, so it is an error here.
        case corrupt(String)
        /// libjpeg gave up ("Unsupported marker type", "Bogus Huffman table definition", ...).
        case fatal(String)
        /// A valid JPEG we do not handle, e.g. CMYK/YCCK, or a request we cannot serve.
        case unsupported(String)
        /// A caller-side mistake: wrong pixel count, odd YUYV width, quality out of range.
        case invalidArgument(String)
    }

    /// What went wrong.
    public var kind: Kind
    /// The call that failed, e.g. `tjDecompress2`.
    public var call: String

    public init(kind: Kind, call: String) {
        self.kind = kind
        self.call = call
    }

    /// A short stable name for counters and logs: `not_jpeg`, `corrupt`, `fatal`, `unsupported`, `invalid_argument`.
    public var name: String {
        switch kind {
        case .notJPEG: "not_jpeg"
        case .corrupt: "corrupt"
        case .fatal: "fatal"
        case .unsupported: "unsupported"
        case .invalidArgument: "invalid_argument"
        }
    }

    public var description: String {
        switch kind {
        case .notJPEG: "\(call): not a JPEG (no SOI marker)"
        case .corrupt(let text): "\(call): corrupt JPEG: \(text)"
        case .fatal(let text): "\(call): \(text)"
        case .unsupported(let text): "\(call): unsupported: \(text)"
        case .invalidArgument(let text): "\(call): invalid argument: \(text)"
        }
    }
}

/// `Array.withUnsafeBytes` only rethrows untyped errors; this keeps `throws(JPEGError)` intact.
func withBytes<R>(_ data: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JPEGError) -> R) throws(JPEGError) -> R {
    let result: Result<R, JPEGError> = data.withUnsafeBytes { buffer in
        do throws(JPEGError) {
            return .success(try body(buffer))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

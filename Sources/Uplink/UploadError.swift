import Foundation

/// How an upload failed, and so what the worker does next.
public struct UploadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Disposition: String, Sendable {
        /// Network trouble, 5xx, throttling, RequestTimeout: back off (full jitter) and retry, forever.
        case transient
        /// Credentials, permissions, clock skew, missing bucket: retrying burns nothing but battery; pause the uplink.
        case pause
        /// Something about this item (bad digest, ETag mismatch, too large): retry it later on its own backoff.
        case item
    }

    public var disposition: Disposition
    /// The S3 error code (`SignatureDoesNotMatch`) or a short name (`network`, `etag-mismatch`).
    public var code: String
    /// HTTP status, when there was a response.
    public var status: Int?
    public var message: String

    public init(_ disposition: Disposition, code: String, status: Int? = nil, message: String) {
        self.disposition = disposition
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String {
        "\(code)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }

    /// S3 error codes that pause the uplink instead of being retried.
    static let pausing: Set<String> = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "RequestTimeTooSkewed",
        "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "NoSuchBucket", "AllAccessDisabled", "AccountProblem",
    ]
    /// S3 error codes worth retrying with backoff.
    static let transientCodes: Set<String> = [
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
        "RequestLimitExceeded", "TooManyRequests", "OperationAborted",
    ]

    /// Classifies an S3 error response by its code, falling back to the status.
    public static func classify(status: Int, code: String?, message: String?) -> UploadError {
        let code = code ?? "HTTP\(status)"
        let message = message ?? "HTTP status \(status)"
        if pausing.contains(code) { return UploadError(.pause, code: code, status: status, message: message) }
        if transientCodes.contains(code) || status >= 500 || status == 429 || status == 408 {
            return UploadError(.transient, code: code, status: status, message: message)
        }
        if status == 401 || status == 403 { return UploadError(.pause, code: code, status: status, message: message) }
        return UploadError(.item, code: code, status: status, message: message)
    }
}

/// Reads `<Code>` and `<Message>` out of an S3 error body. The body is untrusted: bounded, no XML parser, no entities;
/// a code that is not a plain identifier is ignored.
public enum S3ErrorBody {
    public static func parse(_ body: [UInt8]) -> (code: String?, message: String?) {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let code = element("Code", in: text).flatMap { value -> String? in
            let ok = (1...64).contains(value.count) && value.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == ".") }
            return ok ? value : nil
        }
        let message = element("Message", in: text).map { String($0.prefix(300)).filter { !$0.isNewline } }
        return (code, message)
    }

    static func element(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

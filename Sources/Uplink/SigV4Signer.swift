import Crypto
import Digests
import Foundation

#if canImport(Glibc)
import Glibc
import Timestamps
#endif

/// An access key for AWS Signature Version 4. Its description never shows the secret or the token.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Temporary credentials (STS) come with a session token, sent as `x-amz-security-token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "access key \(accessKeyID.prefix(4))…\(sessionToken == nil ? "" : " with session token")" }
    public var debugDescription: String { description }
}

/// AWS Signature Version 4 with header authorization (`AWS4-HMAC-SHA256`). Pure: the date is passed in.
///
/// S3 rules by default: the path is not normalised and is URI-encoded once; the payload hash is sent as
/// `x-amz-content-sha256` and signed. `normalizePath` exists for the generic test suite (other AWS services).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// Remove `.` and `..` segments and repeated slashes before encoding (never for S3: keys are taken literally).
    public var normalizePath: Bool

    public init(credentials: AWSCredentials, region: String, service: String = "s3", normalizePath: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
    }

    /// A request to sign. `path` and `query` are decoded text; the signer encodes them.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        /// Headers as they will be sent; `host` must be among them.
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body.
        public var payloadSHA256: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)], payloadSHA256: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadSHA256 = payloadSHA256
        }
    }

    /// Everything signing produced; `headers` are to be added to the request.
    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var signedHeaders: String
        public var authorization: String
        /// `x-amz-date`, `x-amz-content-sha256` (when signed), `x-amz-security-token` (when present), `Authorization`.
        public var headers: [(name: String, value: String)]
    }

    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Signs `request` at `date`. `signPayloadHeader` adds and signs `x-amz-content-sha256` (S3 requires it);
    /// `signSessionToken` false adds the token after signing (a few services want it that way).
    public func sign(_ request: Request, at date: Date, signPayloadHeader: Bool = true, signSessionToken: Bool = true) -> Signed {
        let (amzDate, day) = Self.timestamps(date)
        var headers = request.headers
        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if signPayloadHeader { added.append(("x-amz-content-sha256", request.payloadSHA256)) }
        if let token = credentials.sessionToken, signSessionToken { added.append(("X-Amz-Security-Token", token)) }
        headers += added

        let canonical = canonicalHeaders(headers)
        let signedHeaders = canonical.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            request.method.uppercased(),
            canonicalURI(request.path),
            canonicalQuery(request.query),
            canonical.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            request.payloadSHA256,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Digest.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Digest.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        if let token = credentials.sessionToken, !signSessionToken { added.append(("X-Amz-Security-Token", token)) }
        added.append(("Authorization", authorization))
        return Signed(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                      signedHeaders: signedHeaders, authorization: authorization, headers: added)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    public func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    /// Lowercase names, values trimmed with inner whitespace runs collapsed, repeated names joined with commas, sorted.
    func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        return merged.keys.sorted().map { ($0, merged[$0, default: []].joined(separator: ",")) }
    }

    func canonicalURI(_ path: String) -> String {
        var path = path.isEmpty ? "/" : path
        if normalizePath { path = Self.removeDotSegments(path) }
        return Self.uriEncode(path, keepSlash: true)
    }

    func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(String, String)] = query.map { pair in
            (Self.uriEncode(pair.name, keepSlash: false), Self.uriEncode(pair.value, keepSlash: false))
        }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        return sorted.map { pair in pair.0 + "=" + pair.1 }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved set `A-Z a-z 0-9 - . _ ~` (and `/` in paths), uppercase hex.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved[Int(byte)] || (keepSlash && byte == 0x2F) {
                out.append(byte)
            } else {
                out.append(0x25)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `A-Z a-z 0-9 - . _ ~` by byte value.
    static let unreserved: [Bool] = (0..<256).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        return ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || "-._~".unicodeScalars.contains(scalar)
    }

    /// RFC 3986 section 5.2.4 plus collapsing empty segments, keeping a trailing slash.
    static func removeDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = output.popLast()
            default: output.append(segment)
            }
        }
        let trailing = path.hasSuffix("/") && !output.isEmpty
        return "/" + output.joined(separator: "/") + (trailing ? "/" : "")
    }

    /// (`20150830T123600Z`, `20150830`) in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        let time = UTCTime(date)
        return (time.basic(), time.date(separator: ""))
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Outbox
import Settings

/// PUT Object against S3 or an S3-compatible service (MinIO, moto), signed with our SigV4 signer, over
/// AsyncHTTPClient with the system trust store. Sends Content-MD5 and x-amz-checksum-sha256 so the server rejects a
/// body damaged on the way, and x-amz-content-sha256 as SigV4 requires.
public final class S3Client: ObjectStore {
    public let endpoint: URL
    public let bucket: String
    public let addressing: UplinkSettings.Addressing
    let signer: SigV4Signer
    let http: HTTPClient
    let clock: @Sendable () -> Date
    /// Upper bound of one PUT, connection included.
    public let timeout: Duration = .seconds(120)

    public init(endpoint: URL, bucket: String, region: String, addressing: UplinkSettings.Addressing, credentials: AWSCredentials,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.addressing = addressing
        self.signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        self.clock = clock
        self.http = Self.sharedHTTPClient
    }

    /// One client for the process, like `HTTPClient.shared` but with our timeouts and no redirects (a redirected PUT
    /// would carry a signature for another host). Never deinitialised, so it needs no shutdown: an S3Client dropped on
    /// an error path cannot trip AsyncHTTPClient's "not shut down before deinit" check.
    static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // AsyncHTTPClient keeps retrying a refused connection until the connect timeout: keep it short so an outage is
        // noticed (and backed off) quickly.
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The host header value and the URL path (decoded) for a key.
    func location(key: String) -> (host: String, path: String, url: String) {
        let scheme = endpoint.scheme?.lowercased() ?? "https"
        var host = endpoint.host ?? ""
        if let port = endpoint.port, !(scheme == "https" && port == 443) && !(scheme == "http" && port == 80) {
            host += ":\(port)"
        }
        let path: String
        switch addressing {
        case .path:
            path = "/\(bucket)/\(key)"
        case .virtual:
            host = "\(bucket).\(host)"
            path = "/\(key)"
        }
        return (host, path, "\(scheme)://\(host)\(SigV4Signer.uriEncode(path, keepSlash: true))")
    }

    public func put(key: String, blob: Blob, contentType: String) async throws(UploadError) -> String {
        let target = location(key: key)
        let md5 = Data(hexString: blob.md5)?.base64EncodedString() ?? ""
        let sha = Data(hexString: blob.sha256)?.base64EncodedString() ?? ""
        let headers: [(name: String, value: String)] = [
            ("Host", target.host), ("Content-Type", contentType), ("Content-MD5", md5), ("x-amz-checksum-sha256", sha),
        ]
        let signed = signer.sign(.init(method: "PUT", path: target.path, headers: headers, payloadSHA256: blob.sha256), at: clock())
        var request = HTTPClientRequest(url: target.url)
        request.method = .PUT
        for (name, value) in headers + signed.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: blob.bytes))

        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
            body = try await response.body.collect(upTo: 256 * 1024)
        } catch {
            throw UploadError(.transient, code: "network", message: "\(target.host): \(error)")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let (code, message) = S3ErrorBody.parse(Array(body.readableBytesView))
            throw UploadError.classify(status: status, code: code, message: message)
        }
        guard let etag = response.headers.first(name: "ETag") else {
            throw UploadError(.item, code: "etag-missing", status: status, message: "no ETag in the response to PUT \(key)")
        }
        return etag
    }

    /// Nothing to release: the HTTP client is shared by the process (see `sharedHTTPClient`).
    public func shutdown() async {}
}

extension Data {
    /// Bytes from lowercase or uppercase hex; nil on odd length or a non-hex digit.
    init?(hexString: String) {
        let digits = Array(hexString.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

import AsyncHTTPClient
import Digests
import Foundation
import NIOCore
import NIOHTTP1

/// GET Object, for model bundles (issue 22): the same endpoint, credentials, signer and HTTP client as the uploads,
/// so a board needs no second way to reach its bucket.
extension S3Client {
    /// The object's bytes, or nil when there is no such key (404). `limit` bounds what an untrusted server can make
    /// the board hold in memory.
    public func get(key: String, limit: Int) async throws(UploadError) -> Data? {
        let target = location(key: key)
        let headers: [(name: String, value: String)] = [("Host", target.host)]
        // An empty body's SHA-256: SigV4 signs the payload hash even when there is none.
        let signed = signer.sign(.init(method: "GET", path: target.path, headers: headers, payloadSHA256: Digest.sha256(Data())), at: clock())
        var request = HTTPClientRequest(url: target.url)
        request.method = .GET
        for (name, value) in headers + signed.headers { request.headers.add(name: name, value: value) }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
            body = try await response.body.collect(upTo: limit)
        } catch {
            throw UploadError(.transient, code: "network", message: "\(target.host): GET \(key): \(error)")
        }
        let status = Int(response.status.code)
        if status == 404 { return nil }
        guard (200..<300).contains(status) else {
            let (code, message) = S3ErrorBody.parse(Array(body.readableBytesView))
            throw UploadError.classify(status: status, code: code, message: message)
        }
        return Data(body.readableBytesView)
    }
}

extension FileEndpoint {
    /// The file under the root, or nil when absent (`uplink.endpoint: file:///...`, boards updated by hand).
    public func get(key: String, limit: Int) async throws(UploadError) -> Data? {
        guard !key.hasPrefix("/"), !key.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw UploadError(.item, code: "invalid-key", message: "key '\(key)' would leave \(root)")
        }
        let path = root + "/" + key
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > limit {
            throw UploadError(.item, code: "too-large", message: "\(path) is \(size) bytes, more than \(limit)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UploadError(.transient, code: "file-io", message: "cannot read \(path)")
        }
        return data
    }
}

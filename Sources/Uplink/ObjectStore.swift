import Foundation
import Outbox

/// Somewhere objects can be put: an S3-compatible service, or a local folder.
public protocol ObjectStore: Sendable {
    /// Stores `blob` under `key`; returns the ETag the store reports (S3: the body's MD5 in hex, quoted).
    func put(key: String, blob: Blob, contentType: String) async throws(UploadError) -> String
    /// Releases connections; called once at shutdown.
    func shutdown() async
}

extension Blob {
    public var contentType: String { part == .jpg ? "image/jpeg" : "application/json" }
}

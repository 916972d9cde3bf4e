import Digests
import Foundation
import Outbox
import Syscalls

#if canImport(Glibc)
import Glibc
#endif

/// `uplink.endpoint: file:///path`: the same key layout in a local folder, each object written atomically
/// (temp, fsync, rename, fsync folder). For the demo and for boards that are collected by hand.
public struct FileEndpoint: ObjectStore {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func put(key: String, blob: Blob, contentType: String) async throws(UploadError) -> String {
        // Keys are built by ObjectKey from validated parts; refuse anything that could climb out of the root anyway.
        guard !key.hasPrefix("/"), !key.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw UploadError(.item, code: "invalid-key", message: "key '\(key)' would leave \(root)")
        }
        let path = root + "/" + key
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw UploadError(.transient, code: "file-io", message: "cannot create \(folder): \(error.localizedDescription)")
        }
        let temporary = path + ".tmp"
        do {
            let fd = try FileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
            defer { FileIO.close(fd) }
            try FileIO.writeAll(fd, blob.bytes, target: temporary)
            try FileIO.fsync(fd, target: temporary)
            try syscall("rename", on: path) { rename(temporary, path) }
            try FileIO.fsyncDirectory(folder)
        } catch {
            _ = unlink(temporary)
            throw UploadError(.transient, code: "file-io", message: error.description)
        }
        // Like S3, answer with the MD5 of what is now stored.
        guard let stored = FileManager.default.contents(atPath: path) else {
            throw UploadError(.transient, code: "file-io", message: "cannot read back \(path)")
        }
        return "\"\(Digest.md5(stored))\""
    }

    public func shutdown() async {}
}

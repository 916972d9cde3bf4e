#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Syscalls

/// The socket file's life: stale files from a crash are removed, a live daemon's socket is not,
/// and after bind the file gets its configured mode and group.
enum SocketFile {
    enum Preparation: Equatable {
        case fresh
        case removedStale
    }

    /// Makes `path` free to bind: creates the parent folder, removes a socket nobody listens on.
    static func prepare(_ path: String) throws(ControlServerError) -> Preparation {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw ControlServerError(.setup, path: path, "cannot create \(parent): \(error.localizedDescription)")
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return .fresh }
            throw ControlServerError(.setup, path: path, "lstat failed: \(Errno.name(code))")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlServerError(.notASocket, path: path, "mode \(String(info.st_mode, radix: 8))")
        }
        switch probe(path) {
        case .listening:
            throw ControlServerError(.alreadyRunning, path: path, "a connection to it succeeded")
        case .refused:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw ControlServerError(.setup, path: path, "cannot remove the stale socket: \(Errno.name(errno))")
            }
            return .removedStale
        case .failed(let code):
            throw ControlServerError(.setup, path: path, "cannot tell whether the existing socket is in use: connect failed with \(Errno.name(code))")
        }
    }

    enum Probe: Equatable {
        case listening
        /// ECONNREFUSED: the file is left over from a process that is gone.
        case refused
        case failed(Int32)
    }

    /// Tries to connect to the socket at `path`.
    static func probe(_ path: String) -> Probe {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        guard var address = UnixAddress(path) else { return .failed(ENAMETOOLONG) }
        let result = address.withSockaddr { connect(fd, $0, $1) }
        if result == 0 { return .listening }
        let code = errno
        return code == ECONNREFUSED ? .refused : .failed(code)
    }

    /// Sets the socket's mode and group. A missing group is not fatal: the file keeps the daemon's group.
    static func applyOwnership(_ path: String, mode: UInt32, groupID: UInt32?) throws(ControlServerError) {
        if let groupID {
            guard chown(path, uid_t.max, groupID) == 0 else {
                throw ControlServerError(.setup, path: path, "chown to gid \(groupID) failed: \(Errno.name(errno)) (the daemon's user must be in the group)")
            }
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            throw ControlServerError(.setup, path: path, "chmod \(String(mode, radix: 8)) failed: \(Errno.name(errno))")
        }
    }
}

/// A `sockaddr_un` for a path.
struct UnixAddress {
    private var storage = sockaddr_un()

    init?(_ path: String) {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

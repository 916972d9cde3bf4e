#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin helpers over file descriptors; every failure is a `SyscallError` naming the call and the path.
public enum FileIO {
    /// open(2) with O_CLOEXEC added.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SyscallError) -> Int32 {
        try syscall("open", on: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// close(2); EINTR is not retried (Linux always releases the descriptor).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Writes every byte, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>, target: String) throws(SyscallError) {
        let buffer = Array(bytes)
        var offset = 0
        while offset < buffer.count {
            let written = try syscall("write", on: target) {
                buffer.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            offset += written
        }
    }

    /// fsync(2).
    public static func fsync(_ fd: Int32, target: String) throws(SyscallError) {
        try syscall("fsync", on: target) { Glibc.fsync(fd) }
    }

    /// Opens a directory and fsyncs it, so a rename inside it survives power loss.
    public static func fsyncDirectory(_ path: String) throws(SyscallError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, target: path)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileIO {
    /// Replaces `path` so that a power cut leaves either the old or the new bytes, never a torn file:
    /// writes `path + temporarySuffix`, fsyncs it, renames it over `path`, then (when `syncDirectory`)
    /// fsyncs the folder so the rename itself is durable. A caller writing many files into one folder
    /// passes false and syncs the folder once. On failure the temporary file is removed.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t,
                                       temporarySuffix: String = ".tmp", syncDirectory: Bool = true) throws(SyscallError) {
        let temporary = path + temporarySuffix
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try writeAll(fd, bytes, target: temporary)
            try fsync(fd, target: temporary)
            close(fd)
        } catch {
            close(fd)
            _ = unlink(temporary)
            throw error
        }
        do {
            try syscall("rename", on: path) { rename(temporary, path) }
        } catch {
            _ = unlink(temporary)
            throw error
        }
        if syncDirectory { try fsyncDirectory(parentDirectory(of: path)) }
    }

    /// The folder holding `path` (`.` for a bare name, `/` for a file at the root).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Free space on the filesystem holding a path, as an unprivileged process may use it (statvfs f_bavail).
public enum FreeSpace {
    public static func available(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

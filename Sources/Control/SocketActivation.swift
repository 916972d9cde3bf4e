#if canImport(Glibc)
import Glibc
#endif
import Syscalls

/// systemd socket activation (sd_listen_fds(3)): when `remotaird.socket` started us, the listening
/// socket is file descriptor 3 and LISTEN_PID names this process.
public enum SocketActivation {
    /// The first passed descriptor is always 3 (SD_LISTEN_FDS_START).
    public static let firstDescriptor: Int32 = 3

    /// The listening socket systemd passed to this process, or nil when not socket-activated.
    /// LISTEN_PID must be our pid: the variables may have been inherited from a parent by mistake.
    public static func descriptor(environment: [String: String], pid: Int32 = getpid()) -> Int32? {
        guard let listenPID = environment["LISTEN_PID"].flatMap({ Int32($0) }), listenPID == pid,
              let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count >= 1
        else { return nil }
        return firstDescriptor
    }

    /// Checks that `fd` is a listening Unix stream socket before handing it to NIO.
    static func validate(_ fd: Int32) throws(ControlServerError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ControlServerError(.activation, path: "fd \(fd)", "fstat failed: \(Errno.name(errno))")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlServerError(.activation, path: "fd \(fd)", "descriptor \(fd) is not a socket; check remotaird.socket")
        }
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 1 else {
            throw ControlServerError(.activation, path: "fd \(fd)", "descriptor \(fd) is not a listening socket (remotaird.socket needs ListenStream= and Accept=no)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Syscalls

/// systemd socket activation through libsystemd's sd_listen_fds(3): when `remotaird.socket` started us,
/// the listening socket is file descriptor 3 and LISTEN_PID names this process.
public enum SocketActivation {
    /// The first passed descriptor is always 3 (SD_LISTEN_FDS_START).
    public static let firstDescriptor = Int32(SD_LISTEN_FDS_START)

    /// The listening socket systemd passed to this process, or nil when not socket-activated.
    ///
    /// `environment` is the one the server was given: without LISTEN_FDS in it nothing is adopted (tests run
    /// servers with an empty environment inside a process that may have inherited anything). libsystemd then
    /// reads the process's own variables, ignores them unless LISTEN_PID is our pid (they may have been
    /// inherited from a parent by mistake), and marks the passed descriptors close-on-exec so no child
    /// holds the socket open. The variables stay set (unset_environment 0), as before libsystemd.
    /// Malformed variables (a negative result) are treated as no activation: the daemon binds its own socket.
    public static func descriptor(environment: [String: String]) -> Int32? {
        guard environment["LISTEN_FDS"] != nil else { return nil }
        return sd_listen_fds(0) >= 1 ? firstDescriptor : nil
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

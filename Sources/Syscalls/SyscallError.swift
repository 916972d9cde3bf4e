#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which call, on what, and the errno it left.
public struct SyscallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. `ioctl(VIDIOC_DQBUF)`.
    public var call: String
    /// What the call was made on: a device path, a socket path, an address.
    public var target: String
    /// errno right after the call.
    public var errno: Int32

    public init(call: String, target: String, errno: Int32) {
        self.call = call
        self.target = target
        self.errno = errno
    }

    /// The symbolic errno name (`ENODEV`), for logs that technicians grep.
    public var errnoName: String { Errno.name(errno) }

    public var description: String {
        "\(call) on \(target) failed: \(errnoName) (\(String(cString: strerror(errno))))"
    }
}

/// Runs a system call, retrying it while it fails with EINTR, and throws `SyscallError` on any other failure.
/// `body` returns the raw result; a negative value means failure with `errno` set.
@discardableResult
public func syscall<T: SignedInteger>(
    _ call: @autoclosure () -> String, on target: @autoclosure () -> String, _ body: () -> T
) throws(SyscallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = currentErrno()
        if code == EINTR { continue }
        throw SyscallError(call: call(), target: target(), errno: code)
    }
}

/// errno of the calling thread.
public func currentErrno() -> Int32 {
    #if canImport(Glibc) || canImport(Musl)
    return Glibc.errno
    #else
    return Darwin.errno
    #endif
}

/// Symbolic names for the errno values our devices and sockets produce.
public enum Errno {
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EINTR: return "EINTR"
        case EIO: return "EIO"
        case ENXIO: return "ENXIO"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EBUSY: return "EBUSY"
        case EEXIST: return "EEXIST"
        case ENODEV: return "ENODEV"
        case ENOTDIR: return "ENOTDIR"
        case EISDIR: return "EISDIR"
        case EINVAL: return "EINVAL"
        case ENOSPC: return "ENOSPC"
        case EPIPE: return "EPIPE"
        case ERANGE: return "ERANGE"
        case ENOTTY: return "ENOTTY"
        case ETIMEDOUT: return "ETIMEDOUT"
        case ECONNREFUSED: return "ECONNREFUSED"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case EREMOTEIO: return "EREMOTEIO"
        case EPROTO: return "EPROTO"
        case EADDRINUSE: return "EADDRINUSE"
        case ECONNRESET: return "ECONNRESET"
        case ENOTCONN: return "ENOTCONN"
        case ENOTSOCK: return "ENOTSOCK"
        default: return "errno \(code)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ControlProtocol
import Foundation
import Syscalls

/// Why `remotairctl` got no answer.
public struct ControlClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The socket cannot be reached: exit status 3.
        case unreachable
        /// The daemon answered something that is not a response, or hung up early.
        case protocolViolation
    }

    public var kind: Kind
    public var message: String
    /// What to try, for people.
    public var hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message)\nhint: \($0)" } ?? message }
}

/// A blocking client connection: the tool sends one request and waits for its line.
public final class ControlConnection {
    private let fd: Int32
    public let path: String
    /// Bytes read past the last returned line.
    private var pending: [UInt8] = []

    /// Connects to the daemon's socket; `timeout` bounds every wait for an answer (captures take seconds).
    public init(path: String, timeout: Duration = .seconds(120)) throws(ControlClientError) {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError(.unreachable, "socket() failed: \(Errno.name(errno))") }
        guard path.utf8.count < 108 else {
            close(fd)
            throw ControlClientError(.unreachable, "socket path \(path) is longer than 107 bytes")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Self.unreachable(path, code)
        }
        let seconds = timeout.components.seconds
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one request and returns the response line (without its newline).
    public func send(_ request: ControlRequest) throws(ControlClientError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let body = try? encoder.encode(request) else {
            throw ControlClientError(.protocolViolation, "the request could not be encoded")
        }
        try write(Array(body) + [UInt8(ascii: "\n")])
        return try readLine()
    }

    /// Writes raw bytes (tests use it to send malformed and slow input). MSG_NOSIGNAL: a daemon that
    /// hung up must give an error here, not kill the tool with SIGPIPE.
    public func write(_ bytes: [UInt8]) throws(ControlClientError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ControlClientError(.unreachable, "writing to \(path) failed: \(Errno.name(code))",
                                         hint: "the daemon closed the connection; check `journalctl -u remotaird`")
            }
            offset += count
        }
    }

    /// Reads up to the next newline; bytes after it are kept for the next call.
    public func readLine() throws(ControlClientError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            guard pending.count <= 16 << 20 else {
                throw ControlClientError(.protocolViolation, "the answer is over 16 MiB")
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    throw ControlClientError(.protocolViolation, "no answer from the daemon in time", hint: "it may be busy; check `journalctl -u remotaird -f`")
                }
                throw ControlClientError(.protocolViolation, "reading from \(path) failed: \(Errno.name(code))")
            }
            if count == 0 {
                throw ControlClientError(.protocolViolation, "the daemon closed the connection without an answer")
            }
            pending += chunk[..<count]
        }
    }

    static func unreachable(_ path: String, _ code: Int32) -> ControlClientError {
        let message = "cannot connect to \(path): \(Errno.name(code)) (\(String(cString: strerror(code))))"
        switch code {
        case ENOENT:
            return ControlClientError(.unreachable, message, hint: "remotaird is not running, or uses another socket (--socket, REMOTAIR_SOCKET); try `systemctl status remotaird`")
        case ECONNREFUSED:
            return ControlClientError(.unreachable, message, hint: "nothing listens on the socket: remotaird is not running; try `systemctl status remotaird`")
        case EACCES, EPERM:
            return ControlClientError(.unreachable, message, hint: "you are not in the socket's group: `sudo usermod -aG remotair $USER`, then log in again (or use sudo)")
        default:
            return ControlClientError(.unreachable, message, hint: "is remotaird running? `systemctl status remotaird`")
        }
    }
}

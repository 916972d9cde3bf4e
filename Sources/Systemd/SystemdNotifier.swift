#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Syscalls

/// The sd_notify protocol, written out: newline-separated `KEY=VALUE` assignments in one datagram to the
/// AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call is a no-op.
public struct SystemdNotifier: Sendable {
    /// The socket address, or nil when not under systemd.
    public let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"]
        socketPath = (path?.isEmpty ?? true) ? nil : path
    }

    public init(socketPath: String?) {
        self.socketPath = socketPath
    }

    /// The watchdog interval systemd expects pings within, if the watchdog is on for this process.
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        // WATCHDOG_PID, when set, names the process the watchdog is meant for (not a child we forked).
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// `READY=1`: start-up (including recovery) is complete.
    public func ready(status: String? = nil) throws(SyscallError) {
        try send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// `STOPPING=1`: graceful shutdown has begun.
    public func stopping() throws(SyscallError) { try send(["STOPPING=1"]) }

    /// `STATUS=`: one line shown by `systemctl status`.
    public func status(_ text: String) throws(SyscallError) {
        try send(["STATUS=\(text.replacingOccurrences(of: "\n", with: " "))"])
    }

    /// `WATCHDOG=1`: the daemon is alive.
    public func watchdog() throws(SyscallError) { try send(["WATCHDOG=1"]) }

    /// `EXTEND_TIMEOUT_USEC=`: a long start-up or shutdown step needs more time.
    public func extendTimeout(_ duration: Duration) throws(SyscallError) {
        let usec = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        try send(["EXTEND_TIMEOUT_USEC=\(usec)"])
    }

    /// Sends assignments in one datagram.
    public func send(_ assignments: [String]) throws(SyscallError) {
        guard let socketPath else { return }
        let message = Array(assignments.joined(separator: "\n").utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw SyscallError(call: "sendto(NOTIFY_SOCKET)", target: socketPath, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // For the abstract namespace the address length must cover exactly the name, not a trailing NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let fd = try syscall("socket(AF_UNIX, SOCK_DGRAM)", on: socketPath) {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        defer { close(fd) }
        try syscall("sendto(NOTIFY_SOCKET)", on: socketPath) {
            message.withUnsafeBytes { body in
                withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL), $0, length) }
                }
            }
        }
    }
}

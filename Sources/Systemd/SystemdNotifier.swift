#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Foundation
import Synchronization
import Syscalls

/// sd_notify(3) through libsystemd: newline-separated `KEY=VALUE` assignments in one message to the
/// socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
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

    /// Sends assignments in one message through libsystemd's `sd_pid_notify`.
    public func send(_ assignments: [String]) throws(SyscallError) {
        guard let socketPath else { return }
        let result = Self.notify(assignments.joined(separator: "\n"), socket: socketPath)
        if result < 0 {
            throw SyscallError(call: "sd_notify(NOTIFY_SOCKET)", target: socketPath, errno: -result)
        }
    }

    /// Serialises notifications with the `$NOTIFY_SOCKET` they are sent to.
    private static let environmentLock = Mutex<Void>(())

    /// libsystemd takes the socket only from the process's `$NOTIFY_SOCKET`. The daemon's notifier is made
    /// from that same variable, so the environment is left alone; a notifier given another socket (tests
    /// receive on their own) points the variable at it for the call. It is then restored, to the empty string
    /// if it was unset: glibc replaces an existing variable in place, so threads reading the environment at
    /// the same moment never see a freed array, and both libsystemd and `init(environment:)` ignore an empty one.
    private static func notify(_ text: String, socket: String) -> Int32 {
        environmentLock.withLock { _ in
            let current = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
            if current != socket { setenv("NOTIFY_SOCKET", socket, 1) }
            defer { if current != socket { setenv("NOTIFY_SOCKET", current ?? "", 1) } }
            // unset_environment 0: the variable stays for the watchdog pings and status lines that follow.
            return sd_pid_notify(0, 0, text)
        }
    }
}

import Health
import Journal
import Logging
import ServiceLifecycle

/// Talks to systemd for the whole daemon: `READY=1` when started, `WATCHDOG=1` while every registered
/// loop is making progress, `STATUS=` lines, and `STOPPING=1` as soon as graceful shutdown begins.
///
/// The watchdog is fed only after a real liveness check: if any loop in the health registry is overdue
/// the ping is withheld and systemd restarts us after `WatchdogSec`.
public struct SystemdService: Service {
    private let notifier: SystemdNotifier
    private let health: HealthRegistry
    private let watchdogInterval: Duration?
    private let checkInterval: Duration
    private let status: @Sendable () -> String
    private let logger: Logger
    private let stalls: StateChangeLog
    private let readiness: ReadinessGate?

    /// - Parameters:
    ///   - watchdogInterval: `WATCHDOG_USEC` from the environment; pings go out at half of it.
    ///   - checkInterval: how often liveness is checked when no watchdog is configured (status updates).
    ///   - status: the text for `systemctl status`, recomputed at every check.
    public init(
        notifier: SystemdNotifier, health: HealthRegistry, watchdogInterval: Duration?,
        checkInterval: Duration = .seconds(10), readiness: ReadinessGate? = nil, logger: Logger,
        status: @escaping @Sendable () -> String
    ) {
        self.readiness = readiness
        self.notifier = notifier
        self.health = health
        self.watchdogInterval = watchdogInterval
        self.checkInterval = checkInterval
        self.status = status
        self.logger = logger
        self.stalls = StateChangeLog(logger: logger)
    }

    public func run() async throws {
        // READY=1 only once every part a client relies on is in place (the control socket is bound).
        if let readiness {
            try? await cancelWhenGracefulShutdown { await readiness.wait() }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
        }
        do {
            try notifier.ready(status: status())
        } catch {
            logger.error("could not notify systemd", metadata: ["error": "\(error)"])
        }
        let period = watchdogInterval.map { $0 / 2 } ?? checkInterval
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                tick()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            }
        } onGracefulShutdown: {
            try? notifier.stopping()
        }
    }

    /// One liveness check: ping the watchdog when healthy, log a stall once when not.
    func tick() {
        let stalled = health.stalledLoops()
        if stalled.isEmpty {
            stalls.report("watchdog", state: "ok", level: .info, "all loops are making progress")
            if watchdogInterval != nil { try? notifier.watchdog() }
        } else {
            stalls.report("watchdog", state: "stalled:" + stalled.joined(separator: ","), level: .critical,
                          "loops stopped making progress; withholding the watchdog ping so systemd restarts the daemon",
                          metadata: ["loops": .string(stalled.joined(separator: ","))])
        }
        try? notifier.status(status())
    }
}

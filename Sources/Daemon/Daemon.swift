import Foundation
import Health
import Journal
import Logging
import ServiceLifecycle
import UnixSignals
import Settings
import Systemd
import Uplink

/// Builds the daemon's services from a validated configuration and runs them in one `ServiceGroup`.
///
/// Order matters: services start in list order and shut down in reverse, so the systemd service (first)
/// sends `STOPPING=1` at the start of shutdown and is the last to stop.
public struct Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let health = HealthRegistry()
    public let board: Board
    /// The durable outbox and its upload worker: opened (and recovered) in `prepare()`, before READY=1.
    public let outbox = OutboxRuntime()
    private let environment: [String: String]

    public init(configuration: DaemonConfiguration, board: Board, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.configuration = configuration
        self.board = board
        self.environment = environment
    }

    /// Prepares durable state before anything runs: the state directory must exist and be writable.
    public func prepare() throws(DaemonError) {
        let path = configuration.stateDirectory
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DaemonError(component: "state", message: "cannot create state directory \(path): \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: path) else {
            throw DaemonError(component: "state", message: "state directory \(path) is not writable by this user")
        }
        do {
            try outbox.open(stateDirectory: path, settings: configuration.outbox, logger: Logger(label: "outbox"))
        } catch {
            throw DaemonError(component: "outbox", message: "\(error)")
        }
    }

    /// The services in start order.
    public func makeServices(logger: Logger) -> [any Service] {
        let notifier = SystemdNotifier(environment: environment)
        let systemd = SystemdService(
            notifier: notifier, health: health,
            watchdogInterval: SystemdNotifier.watchdogInterval(environment: environment),
            logger: Logger(label: "systemd")
        ) { [health] in
            let stalled = health.stalledLoops()
            let components = health.components()
            let summary = components.keys.sorted().map { "\($0) \(components[$0]!.state)" }.joined(separator: ", ")
            if !stalled.isEmpty { return "stalled: \(stalled.joined(separator: ", "))" }
            return summary.isEmpty ? "running" : summary
        }
        let boardService = BoardService(board: board, health: health, logger: Logger(label: "board"))
        let reload = ReloadService(logger: Logger(label: "reload")) { [outbox] in
            // Reload of configuration, calibration and model arrives with the main-job issue.
            Logger(label: "reload").notice("reload requested; this build reloads nothing yet")
            // A reload is also how a technician says "the credentials are fixed": resume a paused uplink now.
            outbox.flush()
        }
        var services: [any Service] = [systemd, boardService, reload]
        if let uplink = outbox.makeWorker(settings: configuration.uplink, deviceID: configuration.deviceID, environment: environment, logger: Logger(label: "uplink")) {
            services.append(uplink)
        }
        return services
    }

    /// Runs until SIGTERM or SIGINT, then shuts every service down gracefully.
    public func run(logger: Logger) async throws {
        try prepare()
        let services = makeServices(logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.notice("starting", metadata: [
            "device": .string(configuration.deviceID), "board": .string(configuration.board.rawValue),
            "state_dir": .string(configuration.stateDirectory),
        ])
        defer { outbox.close() }
        try await group.run()
        logger.notice("stopped")
    }
}

/// A start-up failure of the daemon itself, naming the component.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var component: String
    public var message: String

    public init(component: String, message: String) {
        self.component = component
        self.message = message
    }

    public var description: String { "\(component): \(message)" }
}

import Control
import Foundation
import Health
import Inference
import Journal
import Logging
import ServiceLifecycle
import UnixSignals
import Sensors
import Settings
import Systemd
import Monitoring
import Outbox
import Vision
import Uplink

/// Builds the daemon's services from a validated configuration and runs them in one `ServiceGroup`.
///
/// Order matters: services start in list order and shut down in reverse, so the systemd service (first)
/// sends `STOPPING=1` at the start of shutdown and is the last to stop.
public struct Daemon: Sendable {
    /// Reported by the control socket's `status` and `version` (remotaird's `--version` says the same).
    public static let version = "0.1.0"
    public let configuration: DaemonConfiguration
    public let health = HealthRegistry()
    public let board: Board
    /// Latest sensor readings, rolling windows and sensor states, for the risk engine and the control socket.
    public let sensors: SensorReadings
    /// The sensor service (forced recalibration, fan cleaning).
    public let sensorService: SensorService
    private let sensorCalibration: Result<SensorCalibration.Resolved, ConfigurationError>
    /// The durable outbox and its upload worker: opened (and recovered) in `prepare()`, before READY=1.
    public let outbox = OutboxRuntime()
    /// Model bundles (issue 22): the active bundle's folder, the updater, a start-up fallback.
    public let models = ModelsRuntime()
    /// What the command line set over the file; a reload applies it again.
    public let overrides: CommandLineOverrides
    private let environment: [String: String]

    /// `configuration` already has `overrides` applied.
    public init(configuration: DaemonConfiguration, board: Board, overrides: CommandLineOverrides = CommandLineOverrides(),
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.configuration = configuration
        self.board = board
        self.overrides = overrides
        self.environment = environment
        let readings = SensorReadings()
        sensors = readings
        sensorCalibration = Result { () throws(ConfigurationError) in
            try SensorCalibration.load(for: configuration)
        }
        sensorService = SensorService(
            settings: configuration.sensors, calibration: (try? sensorCalibration.get()) ?? SensorCalibration.Resolved(),
            openBus: board.openI2CBus, readings: readings, clock: board.sensorClock, stateDirectory: configuration.stateDirectory,
            health: health, logReadings: configuration.sensors.logReadings, logger: Logger(label: "sensors"))
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
        if case .failure(let error) = sensorCalibration {
            throw DaemonError(component: "calibration", message: error.description)
        }
        do {
            // Recovering a large outbox can outlast TimeoutStartSec: ask systemd for more time while it progresses.
            let extender = StartupTimeoutExtender(notifier: SystemdNotifier(environment: environment))
            try outbox.open(stateDirectory: path, settings: configuration.outbox, logger: Logger(label: "outbox"),
                            progress: { extender.progress() })
        } catch {
            throw DaemonError(component: "outbox", message: "\(error)")
        }
        // Alarm events also wait for the MQTT broker's PUBACK when the mqtt section is set.
        outbox.outbox?.mirrorAlarmsToMQTT(configuration.mqtt != nil)
    }

    /// The services in start order.
    public func makeServices(modelSet: ModelSet, logger: Logger) -> [any Service] {
        let notifier = SystemdNotifier(environment: environment)
        // Outbox recovery and model loading happen before the group starts; the socket binds inside it.
        let readiness = ReadinessGate(waitingFor: ["control socket"])
        let systemd = SystemdService(
            notifier: notifier, health: health,
            watchdogInterval: SystemdNotifier.watchdogInterval(environment: environment),
            readiness: readiness, logger: Logger(label: "systemd")
        ) { [health] in
            health.summary().statusLine
        }
        let boardService = BoardService(board: board, health: health, logger: Logger(label: "board"))
        // The push button queues a capture for the capture loop, like a scheduled one.
        let triggers = AsyncStream<CaptureTrigger>.makeStream(bufferingPolicy: .bufferingNewest(4))
        let cameras = makeCameraSet(logger: logger, buttonTrigger: { [continuation = triggers.continuation] in
            continuation.yield(CaptureTrigger(source: "button"))
        })
        let job = makeMainJob(modelSet: modelSet, cameras: cameras, triggers: triggers, logger: logger)
        let mqttChanges = AsyncStream<MQTTSettings?>.makeStream()
        let reloader = Reloader(
            daemon: self, monitor: job.monitor, logger: Logger(label: "reload"),
            mqttChanged: { mqttChanges.continuation.yield($0) },
            logLevelChanged: { JournalLogHandler.threshold.level = Logger.Level(rawValue: $0.rawValue) ?? .info })
        let reload = ReloadService(logger: Logger(label: "reload")) { [outbox] in
            _ = await reloader.reload()
            // A reload is also how a technician says "the credentials are fixed": resume a paused uplink now.
            outbox.flush()
        }
        let backend = DaemonControlBackend(
            configuration: configuration, health: health, version: Self.version,
            parts: .init(monitor: job.monitor, cameras: cameras.coordinator, sensors: sensors, sensorService: sensorService,
                         outbox: outbox, reloader: reloader, models: models))
        // One dispatcher for the socket and the MQTT command topic: one capture gate, one audit trail.
        let dispatcher = ControlDispatcher(backend: backend, allowCO2Calibration: configuration.control.allowCO2Calibration, logger: Logger(label: "control"))
        var control = ControlServer(
            settings: configuration.control,
            socketPath: configuration.control.socketPath(runtimeDirectory: configuration.runtimeDirectory),
            dispatcher: dispatcher, logger: Logger(label: "control"), environment: environment
        )
        let mqtt = makeMQTTSupervisor(modelSet: modelSet, monitor: job.monitor, changes: mqttChanges.stream, dispatcher: dispatcher)
        control.onListening = { readiness.open("control socket") }
        var services: [any Service] = [systemd, boardService, sensorService, reload] + cameras.services
        if let uplink = outbox.makeWorker(settings: configuration.uplink, deviceID: configuration.deviceID, environment: environment, logger: Logger(label: "uplink")) {
            services.append(uplink)
        }
        if let mqtt { services.append(mqtt) }
        services += job.services
        let modelQueue = OutboxDocumentQueue(runtime: outbox, uplink: configuration.uplink, outboxSettings: configuration.outbox, deviceID: configuration.deviceID)
        if let models = makeModelUpdateService(modelSet: modelSet, reloader: reloader, queue: modelQueue, environment: environment, logger: logger) { services.append(models) }
        services.append(control)
        return services
    }

    /// Runs until SIGTERM or SIGINT, then shuts every service down gracefully.
    public func run(logger: Logger) async throws {
        try prepare()
        let modelSet = try loadStartupModelSet(logger: logger)
        logger.notice("model loaded", metadata: [
            "model": .string(modelSet.calibration.classifier.model), "sha256": .string(modelSet.classifier.modelSHA256),
            "labels": .string(modelSet.classifier.labels.joined(separator: ",")),
        ])
        let services = makeServices(modelSet: modelSet, logger: logger)
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

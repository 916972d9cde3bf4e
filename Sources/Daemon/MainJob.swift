import Foundation
import Health
import Inference
import Logging
import Monitoring
import Risk
import SensorEmulators
import Sensors
import ServiceLifecycle
import Settings
import Synchronization
import Uplink
import Vision

/// Everything the main job runs on that comes from files: configuration, calibration and the model.
/// Loaded and cross-checked as one set, so a reload swaps all of it or nothing.
public struct ModelSet: Sendable {
    public let calibration: CalibrationSet
    public let classifier: Classifier
    public let settings: MonitorSettings
    public let provenance: Provenance

    /// Loads and validates the set; every problem names the file and what is wrong.
    public static func load(configuration: DaemonConfiguration, version: String) throws(DaemonError) -> ModelSet {
        let calibration: CalibrationSet
        do {
            calibration = try CalibrationSet.load(directory: configuration.calibrationDirectory, riskFile: configuration.riskFile)
        } catch {
            throw DaemonError(component: "calibration", message: error.description)
        }
        let classifierFile = calibration.classifier.file
        let modelPath = configuration.inference.model ?? calibration.classifier.model
        let classifier: Classifier
        do {
            classifier = try Classifier(modelPath: modelPath, settings: configuration.inference)
        } catch {
            throw DaemonError(component: "model", message: "\(modelPath): \(error)")
        }
        // Thresholds were chosen for one model's labels; they mean nothing for another's.
        guard classifier.labels == calibration.classifier.labels else {
            throw DaemonError(component: "calibration", message: "\(classifierFile): labels [\(calibration.classifier.labels.joined(separator: ", "))] do not match the model's labels [\(classifier.labels.joined(separator: ", "))] in \(modelPath)")
        }
        if configuration.inference.model == nil, let expected = calibration.classifier.modelSHA256, expected != classifier.modelSHA256 {
            throw DaemonError(component: "calibration", message: "\(classifierFile): model_sha256 \(expected) does not match \(modelPath) (\(classifier.modelSHA256)); the thresholds were calibrated for another model")
        }
        let capture = configuration.capture
        let settings = MonitorSettings(
            risk: calibration.riskSettings, alarmLabel: calibration.classifier.alarmLabel,
            schedule: CaptureSchedule(interval: capture.interval.seconds, jitter: capture.jitter.seconds),
            snapshotInterval: capture.snapshotInterval.seconds, sampleBand: capture.sampleBand, samplesPerDay: capture.samplesPerDay,
            labelAttribute: configuration.uplink.labelAttribute)
        let provenance = Provenance(
            daemonVersion: version, deviceID: configuration.deviceID, modelSHA256: classifier.modelSHA256,
            modelVersion: calibration.classifier.modelVersion ?? classifier.metadata["model_version"], labels: classifier.labels,
            classifierCalibrationSHA256: fileSHA256(classifierFile) ?? "",
            riskCalibrationSHA256: fileSHA256(calibration.risk.file) ?? "",
            configurationSHA256: fileSHA256(configuration.file) ?? "",
            cameras: Dictionary(configuration.cameras.devices.map { ($0.name, Provenance.CameraIdentity(devicePath: $0.device, serial: nil)) },
                                uniquingKeysWith: { first, _ in first }))
        return ModelSet(calibration: calibration, classifier: classifier, settings: settings, provenance: provenance)
    }
}

/// The main job's running parts, built once per daemon.
public struct MainJob: Sendable {
    public let monitor: Monitor
    /// Button presses and other fire-and-forget capture requests.
    public let triggers: AsyncStream<CaptureTrigger>.Continuation
    public let services: [any Service]
}

extension Daemon {
    /// Builds the monitor and its loops on top of the cameras, the sensors and the outbox.
    func makeMainJob(modelSet: ModelSet, cameras: CameraSet, triggers: (stream: AsyncStream<CaptureTrigger>, continuation: AsyncStream<CaptureTrigger>.Continuation),
                     logger: Logger) -> MainJob {
        let devices = Dictionary(configuration.cameras.devices.map { ($0.name, $0.device) }, uniquingKeysWith: { first, _ in first })
        let monitor = Monitor(
            settings: modelSet.settings,
            frames: CameraFrameSource(coordinator: cameras.coordinator, devices: devices),
            classifier: ModelFrameClassifier(classifier: modelSet.classifier, modelVersion: modelSet.provenance.modelVersion),
            queue: OutboxDocumentQueue(runtime: outbox, uplink: configuration.uplink, outboxSettings: configuration.outbox, deviceID: configuration.deviceID),
            provenance: modelSet.provenance,
            store: FileStateStore(path: (configuration.stateDirectory as NSString).appendingPathComponent("risk-state.json")),
            logger: Logger(label: "risk"))
        let scenario = ScenarioPlayer.make(configuration: configuration, board: board, cameras: cameras, logger: Logger(label: "scenario"))
        let loop = CaptureLoopService(
            monitor: monitor, health: health, triggers: triggers.stream, firstCaptureAfter: configuration.capture.firstCaptureAfter,
            logger: Logger(label: "capture"),
            beforeCycle: { cycle in await scenario?.apply(cycle: cycle) })
        let feed = RiskFeedService(monitor: monitor, inputs: DeviceRiskInputs(sensorReadings: sensors, coordinator: cameras.coordinator),
                                   health: health, indicator: LEDAlarmIndicator(indicator: cameras.indicator))
        return MainJob(monitor: monitor, triggers: triggers.continuation, services: [loop, feed])
    }
}

/// Plays a scenario on the simulated board: before each capture cycle, changes what the simulated
/// cameras show and what the emulated sensors measure.
final class ScenarioPlayer: Sendable {
    let scenario: Scenario
    let cameras: [String: SimulatedCamera]
    let framesDirectory: String
    let buses: [String: (bus: SimulatedI2CBus, address: UInt8)]
    let overrides = MetricOverrides()
    let logger: Logger

    init(scenario: Scenario, cameras: [String: SimulatedCamera], framesDirectory: String,
         buses: [String: (bus: SimulatedI2CBus, address: UInt8)], logger: Logger) {
        self.scenario = scenario
        self.cameras = cameras
        self.framesDirectory = framesDirectory
        self.buses = buses
        self.logger = logger
        // Metrics a scenario drives sit on top of the slowly drifting atmosphere.
        for bus in Set(buses.values.map { ObjectIdentifier($0.bus) }) {
            guard let entry = buses.values.first(where: { ObjectIdentifier($0.bus) == bus }) else { continue }
            entry.bus.setAir(model: { [overrides] time in
                var air = AirState.drifting(at: time)
                for (metric, value) in overrides.values.withLock({ $0 }) { air.set(metric, value) }
                return air
            })
        }
    }

    /// The player for the configured scenario, or nil (hardware, or no scenario).
    static func make(configuration: DaemonConfiguration, board: Board, cameras: CameraSet, logger: Logger) -> ScenarioPlayer? {
        guard configuration.board == .simulated, let name = configuration.simulation.scenario,
              let scenario = try? Scenario.named(name) else { return nil }
        var simulated: [String: SimulatedCamera] = [:]
        for supervisor in cameras.supervisors {
            if let camera = supervisor.camera as? SimulatedCamera { simulated[supervisor.name] = camera }
        }
        var buses: [String: (bus: SimulatedI2CBus, address: UInt8)] = [:]
        for device in configuration.sensors.devices {
            if let bus = try? board.openI2CBus(device.bus) as? SimulatedI2CBus { buses[device.id] = (bus, device.address) }
        }
        let frames = configuration.simulation.framesDirectory
            ?? (configuration.calibrationDirectory as NSString).appendingPathComponent("simulation/frames")
        logger.notice("playing scenario", metadata: ["scenario": .string(scenario.name), "summary": .string(scenario.summary)])
        return ScenarioPlayer(scenario: scenario, cameras: simulated, framesDirectory: frames, buses: buses, logger: logger)
    }

    func apply(cycle: Int) async {
        for action in scenario.steps(before: cycle) {
            logger.notice("scenario step", metadata: ["cycle": .stringConvertible(cycle), "action": .string("\(action)")])
            switch action {
            case .scene(let camera, let scene):
                let folder = (framesDirectory as NSString).appendingPathComponent(scene)
                for (name, simulated) in cameras where camera == nil || camera == name { await simulated.replay(folder: folder) }
            case .unplug(let camera):
                await cameras[camera]?.unplug()
            case .replug(let camera):
                await cameras[camera]?.replug()
            case .metric(let metric, let value):
                overrides.values.withLock { $0[metric] = value }
            case .sensorGone(let id):
                if let entry = buses[id] { entry.bus.inject(.gone, at: entry.address) }
            case .sensorBack(let id):
                if let entry = buses[id] { entry.bus.inject(.back, at: entry.address) }
            }
        }
    }
}

/// Metric values a scenario imposes on the simulated atmosphere.
final class MetricOverrides: Sendable {
    let values = Mutex<[String: Double]>([:])
}

extension AirState {
    /// Drives one metric of the simulated atmosphere (scenarios).
    mutating func set(_ metric: String, _ value: Double) {
        switch metric {
        case "pm1_0": particleMass[0] = value
        case "pm2_5": particleMass[1] = value; particleMass[2] = max(particleMass[2], value); particleMass[3] = max(particleMass[3], value)
        case "pm4_0": particleMass[2] = value
        case "pm10": particleMass[3] = value
        case "co2": co2 = value
        case "humidity": humidity = value
        case "temperature": temperature = value
        case "pressure": pressure = value
        case "differential_pressure": differentialPressure = value
        default: break
        }
    }
}

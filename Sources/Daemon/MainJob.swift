import Foundation
import Health
import Inference
import Logging
import Monitoring
import Risk
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
            snapshotInterval: capture.snapshotInterval.seconds, sampleBand: capture.sampleBand, samplesPerDay: capture.samplesPerDay)
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
            outbox: OutboxAlarmSink(runtime: outbox, uplink: configuration.uplink, outboxSettings: configuration.outbox, deviceID: configuration.deviceID),
            provenance: modelSet.provenance,
            store: StateStore(path: (configuration.stateDirectory as NSString).appendingPathComponent("risk-state.json")),
            logger: Logger(label: "risk"))
        let loop = CaptureLoopService(
            monitor: monitor, health: health, triggers: triggers.stream, firstCaptureAfter: configuration.capture.firstCaptureAfter,
            logger: Logger(label: "capture"),
            beforeCycle: board.beforeCaptureCycle)
        let feed = RiskFeedService(monitor: monitor, sensors: sensors, cameras: cameras, health: health, indicator: cameras.indicator)
        return MainJob(monitor: monitor, triggers: triggers.continuation, services: [loop, feed])
    }
}

/// Feeds the risk engine with what is not a capture: sensor readings, sensor and camera states, outbox
/// fill; and sets the status LED from the overall risk. Polls every few seconds: the rules work on minutes.
struct RiskFeedService: Service {
    let monitor: Monitor
    let sensors: SensorReadings
    let cameras: CameraSet
    let health: HealthRegistry
    let indicator: StatusIndicator
    var period: Duration = .seconds(2)

    func run() async throws {
        let name = "risk-feed"
        health.register(loop: name, period: .seconds(60))
        defer { health.unregister(loop: name) }
        var seen: [String: Date] = [:]
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            health.beat(name)
            for reading in sensors.latest() {
                let key = "\(reading.sensorID)/\(reading.metric.rawValue)"
                guard seen[key].map({ reading.timestamp > $0 }) ?? true else { continue }
                seen[key] = reading.timestamp
                await monitor.observe(metric: reading.metric.rawValue, value: reading.value, unit: reading.unit)
            }
            var serials: [String: String] = [:]
            for status in sensors.statuses() {
                await monitor.observe(sensor: status.id, faulted: status.state == .faulted)
                if let serial = status.serial { serials[status.id] = serial }
            }
            await monitor.updateSensorSerials(serials)
            for status in await cameras.coordinator.statuses() {
                await monitor.observe(camera: status.name, online: status.state != .offline && status.state != .absent)
            }
            await monitor.observeOutbox()
            await indicator.setAlarm(await monitor.overall == .alarm)
            // The risk component is healthy while it runs; what it found is detail, not a device fault.
            health.publish("risk", state: "ok", detail: ["severity": await monitor.overall.rawValue, "alarms": "\(await monitor.activeAlarms.count)"])
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
        }
    }
}

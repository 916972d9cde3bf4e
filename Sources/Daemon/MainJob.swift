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

    /// Loads and validates the set; every problem names the file and what is wrong. `classifierDirectory` is an
    /// activated model bundle's folder (issue 22), whose classifier.yaml and model replace the calibration directory's.
    public static func load(configuration: DaemonConfiguration, version: String, classifierDirectory: String? = nil) throws(DaemonError) -> ModelSet {
        let calibration: CalibrationSet
        do {
            calibration = try CalibrationSet.load(directory: classifierDirectory ?? configuration.calibrationDirectory, riskFile: configuration.riskFile)
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
        let loop = CaptureLoopService(
            monitor: monitor, health: health, triggers: triggers.stream, firstCaptureAfter: configuration.capture.firstCaptureAfter,
            logger: Logger(label: "capture"),
            beforeCycle: board.beforeCaptureCycle)
        let feed = RiskFeedService(monitor: monitor, inputs: DeviceRiskInputs(sensorReadings: sensors, coordinator: cameras.coordinator),
                                   health: health, indicator: LEDAlarmIndicator(indicator: cameras.indicator))
        return MainJob(monitor: monitor, triggers: triggers.continuation, services: [loop, feed])
    }
}

import Control
import ControlProtocol
import Foundation
import Monitoring
import ObjectLayout
import Outbox
import Risk
import Sensors
import Uplink
import Vision
import Health
import Settings
import Timestamps

/// The daemon's answers on the control socket: each command reads from or acts on the running parts.
public struct DaemonControlBackend: ControlBackend {
    /// The running parts the commands reach into.
    public struct Parts: Sendable {
        let monitor: Monitor
        let cameras: CaptureCoordinator
        let sensors: SensorReadings
        let sensorService: SensorService
        let outbox: OutboxRuntime
        let reloader: Reloader
        var models = ModelsRuntime()
    }

    let configuration: DaemonConfiguration
    let health: HealthRegistry
    let version: String
    let started: ContinuousClock.Instant
    let parts: Parts?

    public init(configuration: DaemonConfiguration, health: HealthRegistry, version: String, started: ContinuousClock.Instant = .now, parts: Parts? = nil) {
        self.configuration = configuration
        self.health = health
        self.version = version
        self.started = started
        self.parts = parts
    }

    public func status() async throws(ControlError) -> StatusResult {
        let now = ContinuousClock.now
        let summary = health.summary(at: now)
        var subsystems = summary.components.map { component in
            StatusResult.Subsystem(name: component.name, state: component.state, sinceSeconds: Self.seconds(now - component.since),
                                   detail: component.detail)
        }
        var state = summary.state
        if let outbox = outboxSubsystem() {
            subsystems.append(outbox)
            subsystems.sort { $0.name < $1.name }
            // A refusing outbox drops snapshots or alarms on the floor: the daemon works, but not fully.
            if outbox.state != HealthState.ok.rawValue, state == .ok { state = .degraded }
        }
        var versions = ["remotaird": version]
        if let model = await parts?.monitor.currentProvenance.modelVersion { versions["model"] = model }
        return StatusResult(
            deviceID: configuration.deviceID, versions: versions,
            uptimeSeconds: Self.seconds(now - started), state: state.rawValue, subsystems: subsystems)
    }

    /// The daemon's version, and the model and calibration the running main job uses (reloads included).
    public func version() async throws(ControlError) -> VersionResult {
        guard let provenance = await parts?.monitor.currentProvenance else { return VersionResult(daemon: version) }
        var components = [
            "model_sha256": provenance.modelSHA256, "classifier_calibration_sha256": provenance.classifierCalibrationSHA256,
            "risk_calibration_sha256": provenance.riskCalibrationSHA256,
        ].filter { !$0.value.isEmpty }
        if let model = provenance.modelVersion { components["model"] = model }
        return VersionResult(daemon: version, components: components)
    }

    /// The outbox as a subsystem: `refusing` while its latest enqueue of some kind was refused (free-space
    /// floor, full budget), so `status` shows what a refused capture answered; `ok` otherwise.
    private func outboxSubsystem() -> StatusResult.Subsystem? {
        guard let outbox = parts?.outbox.outbox else { return nil }
        let refusals = outbox.refusals()
        let status = outbox.status()
        var detail = ["queued": "\(status.queuedItems)", "uploaded": "\(status.uploaded)"]
        if status.lost > 0 { detail["lost"] = "\(status.lost)" }
        let space = outbox.freeSpaceReport()
        if let free = space.free { detail["free_bytes"] = "\(free)" }
        detail["free_space_floor"] = "\(space.floor)"
        if !refusals.isEmpty {
            detail["refusing"] = refusals.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key.rawValue):\(OutboxDocumentQueue.refusal($0.value).code)" }.joined(separator: ",")
        }
        return StatusResult.Subsystem(name: "outbox", state: refusals.isEmpty ? "ok" : "refusing", sinceSeconds: nil, detail: detail)
    }

    private func running(_ command: String) throws(ControlError) -> Parts {
        guard let parts else { throw Self.notAvailable(command) }
        return parts
    }

    public func sensors() async throws(ControlError) -> SensorsResult {
        let parts = try running("sensors")
        let now = Date()
        let statuses = Dictionary(parts.sensors.statuses().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var readings = parts.sensors.latest().map { reading in
            SensorsResult.Reading(
                name: reading.metric.rawValue, sensor: reading.sensorID, value: reading.value, unit: reading.unit,
                ageSeconds: max(0, now.timeIntervalSince(reading.timestamp)), state: statuses[reading.sensorID]?.state.rawValue ?? "unknown")
        }
        // Sensors without a reading still show, with their state (absent, warming, faulted).
        let reporting = Set(readings.map(\.sensor))
        for status in parts.sensors.statuses() where !reporting.contains(status.id) {
            readings.append(.init(name: status.type.rawValue, sensor: status.id, value: nil, unit: "", ageSeconds: nil, state: status.state.rawValue))
        }
        return SensorsResult(readings: readings)
    }

    public func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> ControlProtocol.CaptureResult {
        let parts = try running("capture")
        let names: [String]? = (camera == nil || camera == "all") ? nil : [camera!]
        if let names, !parts.cameras.cameraNames.contains(names[0]) {
            throw ControlError(.badRequest, "no camera named '\(names[0])'; cameras: \(parts.cameras.cameraNames.joined(separator: ", "))")
        }
        let start = ContinuousClock.now
        let report = await parts.monitor.capture(trigger: "manual", cameras: names, note: note, upload: upload)
        let cameras = report.cameras.map { camera in
            // A camera that gave no frame has no capture or classification time: leave them out rather than say 0.
            let gaveFrame = camera.verdict != .failed || ["classifier_failed", "label_missing"].contains(camera.error?.code)
            var timings: [String: Int] = [:]
            if gaveFrame { timings["capture"] = Int(camera.captureMilliseconds.rounded()) }
            if let classify = camera.classifyMilliseconds { timings["classify"] = Int(classify.rounded()) }
            var result = ControlProtocol.CaptureResult.Camera(
                name: camera.camera, label: camera.label, scores: camera.scores ?? [:], quality: camera.qualityFlags,
                snapshotID: camera.snapshotID, timings: timings,
                error: camera.error.map { ControlError(ControlError.Code(rawValue: $0.code == "device_gone" || $0.code == "absent" ? "camera_offline" : $0.code), $0.message) })
            // Only a classified (or quality-flagged) frame becomes a snapshot; say whether it really went into the outbox.
            if upload, camera.verdict != .failed || camera.error?.code == "label_missing" {
                result.snapshotQueued = camera.snapshotID != nil
                if camera.snapshotID == nil {
                    // The monitor records every refusal of a snapshot it tried; none means it did not try: this
                    // request joined a capture already running that wanted no snapshot, not an outbox failure.
                    result.snapshotError = camera.snapshotError.map { ControlError(ControlError.Code(rawValue: $0.code), $0.message) }
                        ?? ControlError(.captureJoined, "this request joined a \(report.trigger) capture already running, which queued no snapshot of \(camera.camera); capture again")
                }
            }
            return result
        }
        let total = Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded())
        let queued = upload && !cameras.contains { $0.snapshotQueued == false }
        return ControlProtocol.CaptureResult(cameras: cameras, upload: queued, note: note, totalMilliseconds: total)
    }

    public func alarms() async throws(ControlError) -> AlarmsResult {
        let parts = try running("alarms")
        let now = Date()
        var alarms: [AlarmsResult.Alarm] = []
        for alarm in await parts.monitor.activeAlarms {
            let upload = Self.upload(await parts.monitor.delivery(ofAlarm: alarm.id), outbox: parts.outbox.outbox,
                                     uplink: configuration.uplink, deviceID: configuration.deviceID, now: now)
            alarms.append(AlarmsResult.Alarm(
                id: alarm.id, kind: alarm.kind.rawValue, severity: alarm.severity.rawValue, message: alarm.reason,
                ageSeconds: max(0, now.timeIntervalSince(alarm.raisedAt)), uploaded: upload.state == "uploaded", upload: upload))
        }
        return AlarmsResult(alarms: alarms)
    }

    /// An alarm document's upload state, read from the main job (which item) and the outbox (how far it got).
    static func upload(_ delivery: AlarmDelivery, outbox: Outbox?, uplink: UplinkSettings, deviceID: String, now: Date) -> AlarmsResult.Upload {
        switch delivery {
        case .unknown:
            return AlarmsResult.Upload(state: "unknown")
        case .notQueued:
            let refusal = outbox?.refusals()[.alarm].map { OutboxDocumentQueue.refusal($0) }
            return AlarmsResult.Upload(state: "not_queued",
                                       lastError: refusal.map { "\($0.code): \($0.message)" } ?? "the outbox did not accept it; retried every capture")
        case .queued(let text):
            guard let id = ItemID(text), let outbox else { return AlarmsResult.Upload(state: "unknown", itemID: text) }
            switch outbox.progress(of: id) {
            case .queued(_, _, let attempts, let lastError):
                return AlarmsResult.Upload(state: "queued", itemID: text, attempts: attempts, lastError: lastError)
            case .uploading(_, _, let attempts):
                return AlarmsResult.Upload(state: "uploading", itemID: text, attempts: attempts)
            case .uploaded(let kind, let createdAt, let uploadedAt):
                // The key the upload worker PUT the document under (the same layout function).
                let key = ObjectKey.make(prefix: uplink.prefix, deviceID: deviceID, kind: kind.rawValue, createdAt: createdAt,
                                         id: id.rawValue, fileExtension: Blob.Part.json.rawValue)
                return AlarmsResult.Upload(state: "uploaded", itemID: text, uploadedAt: UTCTime(uploadedAt).extended(),
                                           uploadedAgeSeconds: max(0, now.timeIntervalSince(uploadedAt)), objectKey: key)
            case .lost(_, _, let reason):
                return AlarmsResult.Upload(state: "lost", itemID: text, lastError: reason)
            case .unknown:
                return AlarmsResult.Upload(state: "unknown", itemID: text, lastError: "not in the outbox and no upload recorded (evicted or expired)")
            }
        }
    }

    public func outbox() async throws(ControlError) -> OutboxResult {
        let parts = try running("outbox")
        guard let outbox = parts.outbox.outbox else { throw ControlError(.notAvailable, "the outbox is not open") }
        let status = outbox.status()
        let now = Date()
        return OutboxResult(
            entries: status.entries.map { .init(kind: $0.kind.rawValue, state: $0.state.rawValue, count: $0.items, bytes: Int($0.bytes)) },
            oldestAgeSeconds: status.oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) },
            lastError: status.pausedReason.map { "paused: \($0)" } ?? status.lastError,
            lastErrorAgeSeconds: status.lastErrorAt.map { max(0, now.timeIntervalSince($0)) })
    }

    public func outboxFlush() async throws(ControlError) -> OutboxFlushResult {
        let parts = try running("outbox-flush")
        guard let outbox = parts.outbox.outbox else { throw ControlError(.notAvailable, "the outbox is not open") }
        parts.outbox.flush()
        return OutboxFlushResult(retrying: outbox.status().queuedItems)
    }

    public func reload() async throws(ControlError) -> ReloadResult {
        let parts = try running("reload")
        let outcome = await parts.reloader.reload()
        // A reload also resumes an uplink paused on credentials (the technician fixed them).
        parts.outbox.flush()
        switch outcome {
        case .reloaded(let what): return ReloadResult(reloaded: what)
        case .failed(let why): throw ControlError(.badRequest, "reload refused, the running set stays: \(why)")
        }
    }

    public func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult {
        let parts = try running("calibrate-co2")
        guard let sensor = configuration.sensors.devices.first(where: { $0.type.rawValue == "scd4x" && $0.enabled }) else {
            throw ControlError(.notAvailable, "no SCD4x CO2 sensor is configured")
        }
        do {
            let correction = try await parts.sensorService.forcedRecalibration(sensorID: sensor.id, referencePPM: ppm)
            return CalibrationResult(sensor: sensor.id, referencePPM: ppm, correctionPPM: correction)
        } catch {
            throw ControlError(.internal, "forced recalibration of \(sensor.id) failed: \(error)")
        }
    }

    static func notAvailable(_ command: String) -> ControlError {
        ControlError(.notAvailable, "\(command) is not available in this build of remotaird")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

import Control
import ControlProtocol
import Foundation
import Monitoring
import Outbox
import Risk
import Sensors
import Uplink
import Vision
import Health
import Settings

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
        let subsystems = summary.components.map { component in
            StatusResult.Subsystem(name: component.name, state: component.state, sinceSeconds: Self.seconds(now - component.since),
                                   detail: component.detail)
        }
        return StatusResult(
            deviceID: configuration.deviceID, versions: ["remotaird": version],
            uptimeSeconds: Self.seconds(now - started), state: summary.state.rawValue, subsystems: subsystems)
    }

    public func version() async throws(ControlError) -> VersionResult {
        VersionResult(daemon: version)
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
                ageSeconds: max(0, now.timeIntervalSince(reading.timestamp)), state: statuses[reading.sensorID]?.state.rawValue ?? "ok")
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
            ControlProtocol.CaptureResult.Camera(
                name: camera.camera, label: camera.label, scores: camera.scores ?? [:], quality: camera.qualityFlags,
                snapshotID: camera.snapshotID,
                timings: ["capture": Int(camera.captureMilliseconds.rounded()), "classify": Int((camera.classifyMilliseconds ?? 0).rounded())],
                error: camera.error.map { ControlError(ControlError.Code(rawValue: $0.code == "device_gone" || $0.code == "absent" ? "camera_offline" : $0.code), $0.message) })
        }
        let total = Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded())
        return ControlProtocol.CaptureResult(cameras: cameras, upload: upload, note: note, totalMilliseconds: total)
    }

    public func alarms() async throws(ControlError) -> AlarmsResult {
        let parts = try running("alarms")
        let now = Date()
        let alarms = await parts.monitor.activeAlarms.map { alarm in
            AlarmsResult.Alarm(id: alarm.id, kind: alarm.kind.rawValue, severity: alarm.severity.rawValue, message: alarm.reason,
                               ageSeconds: max(0, now.timeIntervalSince(alarm.raisedAt)), uploaded: false)
        }
        return AlarmsResult(alarms: alarms)
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

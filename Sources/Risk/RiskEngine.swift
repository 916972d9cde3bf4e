import Foundation

/// Everything the risk engine needs to know, from Calibration/classifier.yaml and Calibration/risk.yaml.
public struct RiskSettings: Sendable, Equatable, Codable {
    public var camera: CameraRiskSettings
    public var fusion: FusionPolicy
    /// Air-quality rules by metric name (`pm2_5`, `co2`, `humidity`, `differential_pressure`, ...).
    public var airQuality: [String: LevelRuleSettings]
    public var cameraOfflineAfter: TimeInterval
    public var sensorFaultedAfter: TimeInterval
    /// Consecutive captures with a blocked lens before a `lens_blocked` alarm.
    public var lensBlockedCaptures: Int
    /// Outbox fill fraction (0...1) that raises `outbox_full`.
    public var outboxFullFraction: Double

    public init(
        camera: CameraRiskSettings, fusion: FusionPolicy = .any, airQuality: [String: LevelRuleSettings] = [:],
        cameraOfflineAfter: TimeInterval = 600, sensorFaultedAfter: TimeInterval = 1800,
        lensBlockedCaptures: Int = 3, outboxFullFraction: Double = 0.9
    ) {
        self.camera = camera
        self.fusion = fusion
        self.airQuality = airQuality
        self.cameraOfflineAfter = cameraOfflineAfter
        self.sensorFaultedAfter = sensorFaultedAfter
        self.lensBlockedCaptures = lensBlockedCaptures
        self.outboxFullFraction = outboxFullFraction
    }
}

/// What an alarm is about; the raw values are the `kind` of alarm documents and ids, and the alarm
/// state file's keys.
public enum AlarmKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case ductDirty = "duct_dirty"
    case airQuality = "air_quality"
    case cameraOffline = "camera_offline"
    case sensorFaulted = "sensor_faulted"
    case lensBlocked = "lens_blocked"
    case outboxFull = "outbox_full"

    /// The raw value, so that interpolating a kind writes what documents and ids hold.
    public var description: String { rawValue }
}

/// A change in an alarm: what went to the outbox and the cloud.
public struct AlarmEvent: Sendable, Equatable, Codable {
    public enum Transition: String, Sendable, Codable { case raised, updated, cleared }

    /// Stable for one occurrence of an alarm, from raise to clear: `kind:subject:raised-at-ms`.
    public var id: String
    public var kind: AlarmKind
    /// What it is about: `duct`, a metric, a camera or sensor name, `outbox`.
    public var subject: String
    public var transition: Transition
    public var severity: Severity
    /// A sentence a facility manager understands.
    public var reason: String
    /// The values that led to it, and the thresholds they were held against.
    public var values: [String: Double]
    public var thresholds: [String: Double]
    public var at: Date
}

/// An alarm currently raised.
public struct ActiveAlarm: Sendable, Equatable, Codable {
    public var id: String
    public var kind: AlarmKind
    public var subject: String
    public var severity: Severity
    public var reason: String
    public var raisedAt: Date
    public var updatedAt: Date
}

/// The duct's risk: per-camera state machines fused into the duct's state, air-quality rules, and device
/// rules, turned into alarm events. Pure and `Codable`: the daemon persists it so a restart neither
/// raises an alarm again nor forgets one. Time comes in with every observation.
public struct RiskEngine: Sendable, Equatable, Codable {
    public private(set) var settings: RiskSettings
    public private(set) var cameras: [String: CameraRiskMachine] = [:]
    public private(set) var ductState: CameraRiskMachine.State = .clean
    public private(set) var airQuality: [String: LevelRuleMachine] = [:]
    /// Device conditions by key (`camera_offline/upstream`, `sensor_faulted/sps30`, `outbox_full/outbox`).
    public private(set) var devices: [String: LevelRuleMachine] = [:]
    public private(set) var lensBlockedStreak: [String: Int] = [:]
    public private(set) var active: [String: ActiveAlarm] = [:]

    public init(settings: RiskSettings) {
        self.settings = settings
    }

    /// Applies new settings (reload), keeping every raised alarm and the evidence gathered so far.
    public mutating func update(settings new: RiskSettings) {
        guard new != settings else { return }
        settings = new
        cameras = cameras.mapValues { old in
            var machine = CameraRiskMachine(settings: new.camera)
            machine.restore(from: old)
            return machine
        }
        airQuality = airQuality.filter { new.airQuality[$0.key] != nil }
    }

    /// The worst severity among active alarms.
    public var overall: Severity { active.values.map(\.severity).max() ?? .normal }

    public var activeAlarms: [ActiveAlarm] { active.values.sorted { $0.raisedAt < $1.raisedAt } }

    // MARK: Observations

    /// One capture's verdicts, by camera name.
    public mutating func observeCapture(_ verdicts: [String: CameraVerdict], at now: Date) -> [AlarmEvent] {
        var events: [AlarmEvent] = []
        for (camera, verdict) in verdicts.sorted(by: { $0.key < $1.key }) {
            var machine = cameras[camera] ?? CameraRiskMachine(settings: settings.camera)
            _ = machine.observe(verdict, at: now)
            cameras[camera] = machine
            events += observeLens(camera: camera, verdict: verdict, at: now)
        }
        let fused = settings.fusion.fuse(cameras.keys.sorted().compactMap { cameras[$0] })
        let probabilities = cameras.compactMapValues(\.lastProbability)
        var values: [String: Double] = [:]
        for (camera, probability) in probabilities { values["p_dirty.\(camera)"] = probability }
        let thresholds = ["raise": settings.camera.raiseThreshold, "clear": settings.camera.clearThreshold]
        if fused != ductState {
            ductState = fused
            if fused == .dirty {
                let dirty = cameras.filter { $0.value.state == .dirty }.keys.sorted()
                events.append(raise(
                    kind: .ductDirty, subject: "duct", severity: .alarm,
                    reason: "The duct looks dirty on camera \(dirty.joined(separator: " and ")) (\(settings.camera.required) of the last \(settings.camera.window) captures above \(settings.camera.raiseThreshold)); schedule a cleaning.",
                    values: values, thresholds: thresholds, at: now))
            } else {
                events += clear(kind: .ductDirty, subject: "duct", reason: "The duct looks clean again on every camera.", values: values, thresholds: thresholds, at: now)
            }
        }
        return events
    }

    /// One sensor reading of a metric that has a rule; metrics without a rule are ignored.
    public mutating func observeMetric(_ metric: String, value: Double, unit: String = "", at now: Date) -> [AlarmEvent] {
        guard let rule = settings.airQuality[metric] else { return [] }
        var machine = airQuality[metric] ?? LevelRuleMachine(settings: rule)
        let before = machine.severity
        let changed = machine.observe(value, at: now)
        airQuality[metric] = machine
        guard let changed else { return [] }
        let thresholds = ["warn": rule.warn, "alarm": rule.alarm, "clear": rule.clear].compactMapValues { $0 }
        let values = ["value": value]
        let shown = unit.isEmpty ? "\(value)" : "\(value) \(unit)"
        if changed == .normal {
            return clear(kind: .airQuality, subject: metric, reason: "\(metric) is back to \(shown), under \(rule.clear).", values: values, thresholds: thresholds, at: now)
        }
        let level = changed == .alarm ? rule.alarm : (rule.warn ?? rule.alarm)
        let reason = "\(metric) has been \(rule.direction == .above ? "above" : "below") \(level) for \(Self.minutes(rule.sustain)) (now \(shown))."
        if before == .normal {
            return [raise(kind: .airQuality, subject: metric, severity: changed, reason: reason, values: values, thresholds: thresholds, at: now)]
        }
        return [update(kind: .airQuality, subject: metric, severity: changed, reason: reason, values: values, thresholds: thresholds, at: now)]
    }

    /// Whether a camera is delivering frames; offline longer than the configured time raises an alarm.
    public mutating func observeCamera(_ camera: String, online: Bool, at now: Date) -> [AlarmEvent] {
        deviceRule(kind: .cameraOffline, subject: camera, condition: !online, after: settings.cameraOfflineAfter, at: now,
                   raised: "Camera \(camera) has delivered no frames for \(Self.minutes(settings.cameraOfflineAfter)); check its cable and USB port.",
                   cleared: "Camera \(camera) is delivering frames again.")
    }

    /// Whether a sensor is faulted; faulted longer than the configured time raises an alarm.
    public mutating func observeSensor(_ sensor: String, faulted: Bool, at now: Date) -> [AlarmEvent] {
        deviceRule(kind: .sensorFaulted, subject: sensor, condition: faulted, after: settings.sensorFaultedAfter, at: now,
                   raised: "Sensor \(sensor) has been faulted for \(Self.minutes(settings.sensorFaultedAfter)); its readings are not trusted.",
                   cleared: "Sensor \(sensor) is reading normally again.")
    }

    /// The outbox's fill fraction (bytes used / budget).
    public mutating func observeOutbox(fillFraction: Double, at now: Date) -> [AlarmEvent] {
        deviceRule(kind: .outboxFull, subject: "outbox", condition: fillFraction >= settings.outboxFullFraction, after: 0, at: now,
                   raised: "The outbox is \(Int(fillFraction * 100)) % full: the uplink is not keeping up, and old snapshots will be evicted.",
                   cleared: "The outbox has room again.")
    }

    // MARK: Internals

    private mutating func observeLens(camera: String, verdict: CameraVerdict, at now: Date) -> [AlarmEvent] {
        let blocked: Bool
        if case .unusable(let reason) = verdict, reason.contains("lens_blocked") { blocked = true } else { blocked = false }
        if case .failed = verdict { return [] }  // no frame says nothing about the lens
        let streak = blocked ? (lensBlockedStreak[camera] ?? 0) + 1 : 0
        lensBlockedStreak[camera] = streak
        let key = Self.key(.lensBlocked, camera)
        if blocked && streak == settings.lensBlockedCaptures && active[key] == nil {
            return [raise(kind: .lensBlocked, subject: camera, severity: .warning,
                          reason: "The lens of camera \(camera) looks blocked or smudged on \(streak) captures in a row; clean the lens (this is not the duct being dirty).",
                          values: ["captures": Double(streak)], thresholds: ["captures": Double(settings.lensBlockedCaptures)], at: now)]
        }
        if !blocked && active[key] != nil {
            return clear(kind: .lensBlocked, subject: camera, reason: "The lens of camera \(camera) gives usable frames again.", values: [:], thresholds: [:], at: now)
        }
        return []
    }

    private mutating func deviceRule(kind: AlarmKind, subject: String, condition: Bool, after: TimeInterval, at now: Date, raised: String, cleared: String) -> [AlarmEvent] {
        let key = Self.key(kind, subject)
        var machine = devices[key] ?? LevelRuleMachine(settings: LevelRuleSettings(warn: nil, alarm: 1, clear: 0, sustain: after, clearAfter: 0))
        let changed = machine.observe(condition ? 1 : 0, at: now)
        devices[key] = machine
        switch changed {
        case .alarm?:
            return [raise(kind: kind, subject: subject, severity: .warning, reason: raised, values: [:], thresholds: ["after_s": after], at: now)]
        case .normal?:
            return clear(kind: kind, subject: subject, reason: cleared, values: [:], thresholds: [:], at: now)
        default:
            return []
        }
    }

    private static func key(_ kind: AlarmKind, _ subject: String) -> String { "\(kind.rawValue)/\(subject)" }

    private mutating func raise(kind: AlarmKind, subject: String, severity: Severity, reason: String, values: [String: Double], thresholds: [String: Double], at now: Date) -> AlarmEvent {
        let key = Self.key(kind, subject)
        let id = "\(kind.rawValue):\(subject):\(Int64((now.timeIntervalSince1970 * 1000).rounded()))"
        active[key] = ActiveAlarm(id: id, kind: kind, subject: subject, severity: severity, reason: reason, raisedAt: now, updatedAt: now)
        return AlarmEvent(id: id, kind: kind, subject: subject, transition: .raised, severity: severity, reason: reason, values: values, thresholds: thresholds, at: now)
    }

    private mutating func update(kind: AlarmKind, subject: String, severity: Severity, reason: String, values: [String: Double], thresholds: [String: Double], at now: Date) -> AlarmEvent {
        let key = Self.key(kind, subject)
        guard var alarm = active[key] else {
            return raise(kind: kind, subject: subject, severity: severity, reason: reason, values: values, thresholds: thresholds, at: now)
        }
        alarm.severity = severity
        alarm.reason = reason
        alarm.updatedAt = now
        active[key] = alarm
        return AlarmEvent(id: alarm.id, kind: kind, subject: subject, transition: .updated, severity: severity, reason: reason, values: values, thresholds: thresholds, at: now)
    }

    private mutating func clear(kind: AlarmKind, subject: String, reason: String, values: [String: Double], thresholds: [String: Double], at now: Date) -> [AlarmEvent] {
        guard let alarm = active.removeValue(forKey: Self.key(kind, subject)) else { return [] }
        return [AlarmEvent(id: alarm.id, kind: kind, subject: subject, transition: .cleared, severity: .normal, reason: reason, values: values, thresholds: thresholds, at: now)]
    }

    private static func minutes(_ seconds: TimeInterval) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600)) h" }
        if seconds >= 60 { return "\(Int(seconds / 60)) min" }
        return "\(Int(seconds)) s"
    }
}

import Foundation

/// What one capture said about one camera's view of the duct.
public enum CameraVerdict: Sendable, Equatable, Codable {
    /// The classifier's probability for the alarm label ("dirty").
    case scored(Double)
    /// The frame failed the quality gate (too dark, blurred, lens blocked): no verdict is trusted.
    case unusable(reason: String)
    /// The camera produced no frame.
    case failed(reason: String)
}

/// Thresholds and smoothing for one camera's dirty/clean state.
public struct CameraRiskSettings: Sendable, Equatable, Codable {
    /// Probability at or above which a capture counts towards "dirty" (F1-optimal threshold from training).
    public var raiseThreshold: Double
    /// Probability at or below which a capture counts towards "clean"; lower than `raiseThreshold` (hysteresis).
    public var clearThreshold: Double
    /// Captures that must agree out of the last `window` (k of n).
    public var required: Int
    public var window: Int
    /// No state change sooner than this after the previous one.
    public var minimumDwell: TimeInterval

    public init(raiseThreshold: Double, clearThreshold: Double, required: Int = 2, window: Int = 3, minimumDwell: TimeInterval = 0) {
        self.raiseThreshold = raiseThreshold
        self.clearThreshold = clearThreshold
        self.required = required
        self.window = window
        self.minimumDwell = minimumDwell
    }
}

/// One camera's smoothed state: k-of-n voting over usable captures, hysteresis between the raise and
/// clear thresholds, and a minimum dwell between changes. Pure: time comes in with each observation.
public struct CameraRiskMachine: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case clean, dirty }

    public let settings: CameraRiskSettings
    public private(set) var state: State = .clean
    /// When `state` last changed (nil: never, e.g. since first start).
    public private(set) var changedAt: Date?
    /// The last `window` usable probabilities, oldest first.
    public private(set) var recent: [Double] = []
    /// Consecutive captures that were unusable or failed; reset by a usable one.
    public private(set) var unusableStreak = 0
    public private(set) var lastReason: String?
    /// The latest usable probability, for reports and the `mean` fusion.
    public private(set) var lastProbability: Double?

    public init(settings: CameraRiskSettings) {
        self.settings = settings
    }

    /// Feeds one capture; returns the new state when it changed.
    public mutating func observe(_ verdict: CameraVerdict, at now: Date) -> State? {
        switch verdict {
        case .unusable(let reason), .failed(let reason):
            // An unusable frame neither confirms nor refutes dirt: the vote window is left as it was.
            unusableStreak += 1
            lastReason = reason
            return nil
        case .scored(let probability):
            unusableStreak = 0
            lastReason = nil
            lastProbability = probability
            recent.append(probability)
            if recent.count > settings.window { recent.removeFirst(recent.count - settings.window) }
        }
        if let changedAt, now.timeIntervalSince(changedAt) < settings.minimumDwell { return nil }
        let target: State
        switch state {
        case .clean:
            let votes = recent.filter { $0 >= settings.raiseThreshold }.count
            target = votes >= settings.required ? .dirty : .clean
        case .dirty:
            let votes = recent.filter { $0 <= settings.clearThreshold }.count
            target = votes >= settings.required ? .clean : .dirty
        }
        guard target != state else { return nil }
        state = target
        changedAt = now
        // A fresh window after a change, so the next change needs fresh evidence.
        recent = []
        return target
    }

}

/// How the duct's state follows from both cameras.
public enum FusionPolicy: String, Sendable, Codable, CaseIterable {
    /// Dirty when any camera is dirty (the default: one dirty section is enough to clean).
    case any
    /// Dirty only when every camera with a state is dirty.
    case all
    /// Dirty when the mean of the latest probabilities reaches the raise threshold.
    case mean

    /// Fuses per-camera states (and latest probabilities, for `mean`).
    public func fuse(_ machines: [CameraRiskMachine]) -> CameraRiskMachine.State {
        guard !machines.isEmpty else { return .clean }
        switch self {
        case .any:
            return machines.contains { $0.state == .dirty } ? .dirty : .clean
        case .all:
            return machines.allSatisfy { $0.state == .dirty } ? .dirty : .clean
        case .mean:
            // Each camera contributes its smoothed state as 0 or 1 when it has no fresh probability.
            let values = machines.map { $0.lastProbability ?? ($0.state == .dirty ? 1 : 0) }
            let mean = values.reduce(0, +) / Double(values.count)
            let threshold = machines[0].settings.raiseThreshold
            return mean >= threshold ? .dirty : .clean
        }
    }
}

extension CameraRiskMachine {
    /// Carries state and evidence over from a machine with other settings (reload).
    mutating func restore(from old: CameraRiskMachine) {
        state = old.state
        changedAt = old.changedAt
        recent = Array(old.recent.suffix(settings.window))
        unusableStreak = old.unusableStreak
        lastReason = old.lastReason
        lastProbability = old.lastProbability
    }
}

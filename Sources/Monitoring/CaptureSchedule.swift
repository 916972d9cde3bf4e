import Foundation

/// When the next scheduled capture is due: every `interval` plus a random share of `jitter`, so a building
/// full of boards does not capture and upload in lockstep. Pure: randomness is injected.
public struct CaptureSchedule: Sendable, Equatable {
    public var interval: TimeInterval
    public var jitter: TimeInterval

    public init(interval: TimeInterval, jitter: TimeInterval) {
        self.interval = interval
        self.jitter = jitter
    }

    /// The next due time after a capture that started at `last`; `unit` is a random number in 0..<1.
    public func next(after last: Date, unit: Double) -> Date {
        last.addingTimeInterval(delay(unit: unit))
    }

    /// The wait from one capture to the next, in seconds; `unit` is a random number in 0..<1.
    public func delay(unit: Double) -> TimeInterval {
        interval + jitter * min(max(unit, 0), 1)
    }
}

/// Which captures also become retraining samples: probabilities in a band around the threshold (the model
/// is unsure) or cameras that disagree, capped per day (like Frigate's `save_attempts`).
public struct SamplePolicy: Sendable, Equatable, Codable {
    public var threshold: Double
    /// Half-width of the band around `threshold`.
    public var band: Double
    public var dailyCap: Int
    public private(set) var day: Int = -1
    public private(set) var takenToday = 0

    public init(threshold: Double, band: Double = 0.1, dailyCap: Int = 20) {
        self.threshold = threshold
        self.band = band
        self.dailyCap = dailyCap
    }

    /// Decides for one capture's probabilities (camera -> p(dirty)); returns the cameras to sample.
    public mutating func select(_ probabilities: [String: Double], at now: Date) -> [String] {
        let today = Int(now.timeIntervalSince1970 / 86400)
        if today != day {
            day = today
            takenToday = 0
        }
        let unsure = probabilities.filter { abs($0.value - threshold) <= band }.keys
        let values = Array(probabilities.values)
        let disagree = values.count >= 2 && values.contains { $0 >= threshold } && values.contains { $0 < threshold }
        let wanted = (disagree ? Set(probabilities.keys) : Set(unsure)).sorted()
        let room = max(0, dailyCap - takenToday)
        let chosen = Array(wanted.prefix(room))
        takenToday += chosen.count
        return chosen
    }
}

/// The periodic record: one snapshot per camera every `interval` (daily by default).
public struct SnapshotSchedule: Sendable, Equatable, Codable {
    public var interval: TimeInterval
    public private(set) var lastTaken: [String: Date] = [:]

    public init(interval: TimeInterval) {
        self.interval = interval
    }

    /// True when this camera is due; records it as taken.
    public mutating func due(_ camera: String, at now: Date) -> Bool {
        if let last = lastTaken[camera], now.timeIntervalSince(last) < interval { return false }
        lastTaken[camera] = now
        return true
    }
}

/// When each sensor is read next, for the sensor service's one scheduler task: the service sleeps until the
/// earliest due time across all sensors, rather than one loop sleeping per sensor (issue 20: each of those
/// sleeps was a timer and a thread wake-up of its own). Pure: the service feeds it the time.
///
/// Due times sit on one grid, the greatest common divisor of the sensors' intervals and 1 s, counted from the
/// clock's origin: sensors with the same interval are read in the same wake-up, and a 5 s sensor in a wake-up
/// of the 1 s ones. A sensor is read again an interval after its last due time (after its start, an interval
/// after the step ended: the SCD4x has its first value 5 s after its start command), rounded up to the grid,
/// so the SGP41's 1 s cadence, which its gas index algorithm relies on, is kept exactly. A sensor is either
/// waiting for its due time or busy (its step runs); a busy sensor is not started again and the others keep
/// their due times. The service runs a quick step (one that took less than `quickStep` last time) in the
/// scheduler's own task, quickest first, and any other in a task of its own, so a slow sensor delays only itself.
public struct SensorSchedule: Sendable {
    /// What a finished step asks for.
    public enum After: Sendable, Equatable {
        /// The next sample an interval after this step's due time (on the grid).
        case interval
        /// The chip was started in this step: the next sample an interval after now (on the grid).
        case intervalFromNow
        /// Again after this delay from now, off the grid (a restart backoff, or a start to retry at once).
        case delay(Duration)
    }

    struct Entry: Sendable {
        var interval: Duration
        /// When the sensor is next due; nil while its step runs.
        var due: Duration?
        /// The due time of the step that runs (or ran last).
        var lastDue: Duration
        /// When the running step was started (for the liveness check).
        var startedAt: Duration?
        /// How long the last step took; nil before the first.
        var lastDuration: Duration?
    }

    /// A step that took less than this last time runs in the scheduler's task: a second task per sensor and
    /// wake-up would wake a second thread (issue 20). The SGP41's 50 ms measurement is the longest such step.
    public static let quickStep: Duration = .milliseconds(100)

    private var entries: [Entry]
    /// The grid every due time sits on (but a backoff's).
    public let grid: Duration

    /// Every sensor is due at `now`: they start at once, as each sensor's own loop used to.
    public init(intervals: [Duration], now: Duration) {
        entries = intervals.map { Entry(interval: max($0, .milliseconds(1)), due: now, lastDue: now, startedAt: nil, lastDuration: nil) }
        grid = .nanoseconds(entries.map { Self.nanoseconds($0.interval) }.reduce(1_000_000_000) { Self.gcd($0, $1) })
    }

    public var count: Int { entries.count }

    /// The earliest due time of a waiting sensor; nil when every sensor's step runs.
    public var nextDue: Duration? { entries.compactMap(\.due).min() }

    /// How many steps run.
    public var busyCount: Int { entries.count(where: { $0.due == nil }) }

    public func isBusy(_ index: Int) -> Bool { entries[index].due == nil }

    /// Whether the sensor's last step was quick (see `quickStep`); false before its first step.
    public func isQuick(_ index: Int) -> Bool {
        entries[index].lastDuration.map { $0 < Self.quickStep } ?? false
    }

    /// The sensors due at `now`, now marked busy: earliest due first, then the quickest last time (so a step run
    /// in the scheduler's task holds up as few others as possible), then in configuration order.
    public mutating func takeDue(at now: Duration) -> [Int] {
        let due = entries.indices.compactMap { index in
            entries[index].due.flatMap { $0 <= now ? ($0, entries[index].lastDuration ?? .seconds(1 << 40), index) : nil }
        }.sorted { $0 < $1 }.map(\.2)
        for index in due {
            entries[index].lastDue = entries[index].due ?? now
            entries[index].due = nil
            entries[index].startedAt = now
        }
        return due
    }

    /// A step finished at `now`. A step that overran its interval is followed by the next grid point rather
    /// than at once: the reading is late either way, and the sensor stays on the grid.
    public mutating func finished(_ index: Int, at now: Duration, after: After) {
        var entry = entries[index]
        switch after {
        case .interval:
            entry.due = max(Self.gridPoint(atOrAfter: entry.lastDue + entry.interval, interval: grid), Self.gridPoint(atOrAfter: now, interval: grid))
        case .intervalFromNow:
            entry.due = Self.gridPoint(atOrAfter: now + entry.interval, interval: grid)
        case .delay(let delay):
            entry.due = now + max(delay, .zero)
        }
        entry.lastDuration = entry.startedAt.map { now - $0 }
        entry.startedAt = nil
        entries[index] = entry
    }

    /// For the watchdog: the sensors whose step has run for longer than `limit` at `now` (hung in a bus call), or
    /// that have been due for longer than `limit` without a step (the scheduler itself stopped).
    public func stuck(at now: Duration, limit: Duration) -> [Int] {
        entries.indices.filter { index in
            let entry = entries[index]
            if let startedAt = entry.startedAt { return now - startedAt > limit }
            return entry.due.map { now - $0 > limit } ?? false
        }
    }

    /// The first multiple of `interval` strictly after `time`.
    static func gridPoint(after time: Duration, interval: Duration) -> Duration {
        let step = nanoseconds(interval)
        let t = nanoseconds(time)
        // Floor division (the clock starts at zero, but a negative time must not round towards zero).
        let k = (t >= 0 ? t / step : (t - step + 1) / step) + 1
        return .nanoseconds(k * step)
    }

    /// The first multiple of `interval` at or after `time`.
    static func gridPoint(atOrAfter time: Duration, interval: Duration) -> Duration {
        let step = nanoseconds(interval)
        let t = nanoseconds(time)
        return t % step == 0 ? time : gridPoint(after: time, interval: interval)
    }

    private static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        b == 0 ? a : gcd(b, a % b)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}

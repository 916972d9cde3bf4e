import Foundation
import Synchronization

/// Time as the sensor layer sees it: monotonic time for intervals and execution delays, wall time for
/// reading timestamps, and a sleep. Tests and `remotaird sensors --simulate` use `VirtualClock`, where
/// sleeping advances time instantly, so warm-ups are exercised without waiting.
public protocol SensorClock: Sendable {
    /// Monotonic time since an arbitrary origin.
    func now() -> Duration
    /// Wall-clock time, for reading timestamps.
    func date() -> Date
    /// Waits `duration` (returns early only when the task is cancelled).
    func sleep(for duration: Duration) async
}

/// The real clock. Monotonic time counts from boot (CLOCK_BOOTTIME, which `ContinuousClock` and `Task.sleep`
/// use on Linux), so the scheduler's grid of due times is the one every other periodic loop of the daemon
/// aligns to (Timestamps' `WakeGrid`), and they wake together.
public struct SystemSensorClock: SensorClock {
    public init() {}

    public func now() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return .seconds(Int64(time.tv_sec)) + .nanoseconds(Int64(time.tv_nsec))
    }
    public func date() -> Date { Date() }
    public func sleep(for duration: Duration) async { try? await Task.sleep(for: duration) }
}

/// A clock that moves only when someone sleeps on it or calls `advance`: deterministic time for tests
/// and for the fast simulated board.
public final class VirtualClock: SensorClock {
    private let elapsed = Mutex<Duration>(.zero)
    private let start: Date

    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.start = start
    }

    public func now() -> Duration { elapsed.withLock { $0 } }

    public func date() -> Date {
        let now = self.now()
        return start.addingTimeInterval(Double(now.components.seconds) + Double(now.components.attoseconds) / 1e18)
    }

    public func sleep(for duration: Duration) async {
        advance(by: duration)
        // Let other tasks on the virtual clock run, as a real sleep would.
        await Task.yield()
    }

    public func advance(by duration: Duration) {
        elapsed.withLock { $0 += max(duration, .zero) }
    }
}

extension Duration {
    /// Seconds as a Double (for rates and algorithm inputs).
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Real time running `speed` times faster: the simulated board's clock when `simulation.speed` is above 1,
/// and the benchmark's. Every sleep is real (just shorter), so the work per simulated second is unchanged.
public struct ScaledClock: SensorClock {
    public let speed: Double
    private let origin = ContinuousClock.now
    private let startDate = Date()

    public init(speed: Double) {
        self.speed = max(speed, 0.001)
    }

    public func now() -> Duration { (ContinuousClock.now - origin) * speed }
    public func date() -> Date { startDate.addingTimeInterval(now().seconds) }
    public func sleep(for duration: Duration) async { try? await Task.sleep(for: duration / speed) }
}

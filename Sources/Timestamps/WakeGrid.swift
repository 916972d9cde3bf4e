#if canImport(Glibc)
import Glibc
#endif

/// One grid of wake-up times for every periodic loop of the process: multiples of a loop's period counted from
/// boot on CLOCK_BOOTTIME, the clock `ContinuousClock` reads on Linux. A loop that sleeps to its next grid point,
/// rather than a period after its last pass, wakes at the same instant as every other loop whose period divides
/// or is divided by its own (the sensors' scheduler counts from boot too), so one timer and one thread wake-up
/// serve them all (issue 20: each sleep costs about three thread wake-ups of its own). A pass never comes later
/// than a period after the previous one.
public enum WakeGrid {
    /// Time since boot (CLOCK_BOOTTIME).
    public static func sinceBoot() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return .seconds(Int64(time.tv_sec)) + .nanoseconds(Int64(time.tv_nsec))
    }

    /// How long until the next multiple of `period` since boot (strictly after now; a period when it is not positive).
    public static func delayToNext(_ period: Duration, now: Duration = sinceBoot()) -> Duration {
        let step = nanoseconds(period)
        guard step > 0 else { return period }
        let t = nanoseconds(now)
        let next = (t >= 0 ? t / step : (t - step + 1) / step) + 1
        return .nanoseconds(next * step - t)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}

@testable import Sensors
import Testing

/// The scheduler's policy on an injected time: which sensor is due, that sensors with the same interval share a
/// wake-up, that the grid survives restarts and overruns, and that a slow sensor delays only itself.
@Suite struct SensorScheduleTests {
    static func s(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    @Test func everySensorStartsAtOnceAndThenSharesTheWakeUpsOfItsInterval() {
        // SPS30, SHT4x, SDP8xx, SGP41 at 1 s, SCD4x and BME280 at 5 s (the bench configuration).
        var schedule = SensorSchedule(intervals: [1, 1, 1, 1, 5, 5].map { Self.s($0) }, now: .zero)
        #expect(schedule.takeDue(at: .zero) == [0, 1, 2, 3, 4, 5])
        #expect(schedule.nextDue == nil)
        for index in 0..<6 { schedule.finished(index, at: Self.s(0.06), after: .interval) }
        var wakeUps: [Duration] = []
        var reads = [Int](repeating: 0, count: 6)
        var now = Duration.zero
        while let next = schedule.nextDue, next <= .seconds(10) {
            now = next
            wakeUps.append(now)
            let due = schedule.takeDue(at: now)
            for index in due {
                reads[index] += 1
                schedule.finished(index, at: now + Self.s(0.05), after: .interval)
            }
        }
        // One wake-up a second for all six, the 5 s sensors in every fifth of them.
        #expect(wakeUps == (1...10).map { Duration.seconds($0) })
        #expect(reads == [10, 10, 10, 10, 2, 2])
    }

    @Test func theEarliestDueComesFirstAndOnlyDueSensorsAreTaken() {
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(1)], now: .zero)
        _ = schedule.takeDue(at: .zero)
        schedule.finished(0, at: Self.s(0.1), after: .interval)
        schedule.finished(1, at: Self.s(0.1), after: .delay(Self.s(0.4)))
        #expect(schedule.nextDue == Self.s(0.5))
        #expect(schedule.takeDue(at: Self.s(0.49)) == [])
        #expect(schedule.takeDue(at: Self.s(0.5)) == [1])
        schedule.finished(1, at: Self.s(0.6), after: .delay(Self.s(0.3)))
        // Both overdue: the one due first is started first.
        #expect(schedule.takeDue(at: Self.s(1.2)) == [1, 0])
    }

    @Test func amongThoseDueTogetherTheQuickestComeFirst() {
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(1), Self.s(1)], now: .zero)
        // Unknown before its first step: not quick (the service runs it in a task of its own).
        #expect(!schedule.isQuick(0))
        _ = schedule.takeDue(at: .zero)
        schedule.finished(0, at: Self.s(0.05), after: .interval)  // the SGP41's 50 ms measurement
        schedule.finished(1, at: Self.s(0.3), after: .interval)
        schedule.finished(2, at: Self.s(0.001), after: .interval)
        #expect(schedule.isQuick(0) && !schedule.isQuick(1) && schedule.isQuick(2))
        #expect(schedule.takeDue(at: .seconds(1)) == [2, 0, 1])
    }

    @Test func aRestartBackoffIsExactAndTheNextSampleIsBackOnTheGrid() {
        var schedule = SensorSchedule(intervals: [Self.s(1)], now: .zero)
        _ = schedule.takeDue(at: .zero)
        // A failed start asks for a 2 s backoff: due 2 s after it failed, not on a grid point.
        schedule.finished(0, at: Self.s(0.3), after: .delay(.seconds(2)))
        #expect(schedule.nextDue == Self.s(2.3))
        #expect(schedule.takeDue(at: Self.s(2.3)) == [0])
        // It started: the next sample at least an interval later, on the grid.
        schedule.finished(0, at: Self.s(2.35), after: .intervalFromNow)
        #expect(schedule.nextDue == .seconds(4))
        #expect(schedule.takeDue(at: .seconds(4)) == [0])
        schedule.finished(0, at: Self.s(4.01), after: .interval)
        #expect(schedule.nextDue == .seconds(5))
    }

    @Test func aStartedSCD4xIsReadOnceItHasAValueInAWakeUpOfTheOthers() {
        // SGP41 at 1 s, SCD4x at 5 s; the SCD4x's start (stop_periodic_measurement alone is 500 ms) ends at 0.51 s
        // and its first value comes 5 s after it: read at 6 s, with the SGP41, then every 5 s.
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(5)], now: .zero)
        #expect(schedule.grid == .seconds(1))
        _ = schedule.takeDue(at: .zero)
        schedule.finished(0, at: Self.s(0.05), after: .intervalFromNow)
        schedule.finished(1, at: Self.s(0.51), after: .intervalFromNow)
        var reads: [Duration] = []
        while let next = schedule.nextDue, next <= .seconds(16) {
            for index in schedule.takeDue(at: next) {
                if index == 1 { reads.append(next) }
                schedule.finished(index, at: next + Self.s(0.05), after: .interval)
            }
        }
        #expect(reads == [.seconds(6), .seconds(11), .seconds(16)])
    }

    @Test func theGridIsTheCommonDivisorOfTheIntervalsAndASecond() {
        #expect(SensorSchedule(intervals: [Self.s(5), Self.s(5)], now: .zero).grid == .seconds(1))
        #expect(SensorSchedule(intervals: [Self.s(1), Self.s(1.5)], now: .zero).grid == Self.s(0.5))
        #expect(SensorSchedule(intervals: [Self.s(0.25), Self.s(5)], now: .zero).grid == Self.s(0.25))
        // A 1.5 s sensor keeps its interval on a 0.5 s grid.
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(1.5)], now: .zero)
        _ = schedule.takeDue(at: .zero)
        schedule.finished(1, at: Self.s(0.01), after: .interval)
        #expect(schedule.nextDue == Self.s(1.5))
    }

    @Test func aSlowSensorDelaysOnlyItselfAndSkipsToItsNextGridPoint() {
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(1)], now: .zero)
        _ = schedule.takeDue(at: .zero)
        schedule.finished(0, at: Self.s(0.01), after: .interval)
        schedule.finished(1, at: Self.s(0.01), after: .interval)
        #expect(schedule.takeDue(at: .seconds(1)) == [0, 1])
        schedule.finished(0, at: Self.s(1.01), after: .interval)
        // Sensor 1 is still busy at 2 s (say a forced recalibration): sensor 0 is read on time without it.
        #expect(schedule.nextDue == .seconds(2))
        #expect(schedule.takeDue(at: .seconds(2)) == [0])
        #expect(schedule.isBusy(1))
        schedule.finished(0, at: Self.s(2.01), after: .interval)
        // Sensor 1 ends at 2.7 s: its next read is at 3 s with the others, not at once off the grid.
        schedule.finished(1, at: Self.s(2.7), after: .interval)
        #expect(schedule.nextDue == .seconds(3))
        #expect(schedule.takeDue(at: .seconds(3)) == [0, 1])
    }

    @Test func aStepRunningLongerThanTheLimitOrADueSensorNotStartedIsStuck() {
        var schedule = SensorSchedule(intervals: [Self.s(1), Self.s(3600)], now: .zero)
        _ = schedule.takeDue(at: .zero)
        schedule.finished(1, at: Self.s(0.1), after: .interval)
        #expect(schedule.stuck(at: .seconds(150), limit: .seconds(150)) == [])
        #expect(schedule.stuck(at: Self.s(150.1), limit: .seconds(150)) == [0])
        // Waiting for a due time, however long (a backoff, an interval of an hour), is not being stuck.
        schedule.finished(0, at: Self.s(150.2), after: .delay(.seconds(3000)))
        #expect(schedule.stuck(at: .seconds(3150), limit: .seconds(150)) == [])
        #expect(schedule.busyCount == 0)
        // Due and not started for longer than the limit: the scheduler itself stopped.
        #expect(schedule.stuck(at: Self.s(3300.3), limit: .seconds(150)) == [0])
        #expect(schedule.stuck(at: Self.s(3750.1), limit: .seconds(150)) == [0, 1])
    }

    @Test func gridPoints() {
        #expect(SensorSchedule.gridPoint(after: .seconds(5), interval: .seconds(5)) == .seconds(10))
        #expect(SensorSchedule.gridPoint(after: Self.s(4.999), interval: .seconds(5)) == .seconds(5))
        #expect(SensorSchedule.gridPoint(atOrAfter: .seconds(5), interval: .seconds(5)) == .seconds(5))
        #expect(SensorSchedule.gridPoint(atOrAfter: Self.s(5.001), interval: Self.s(0.25)) == Self.s(5.25))
        #expect(SensorSchedule.gridPoint(after: Self.s(-0.5), interval: .seconds(1)) == .zero)
    }
}

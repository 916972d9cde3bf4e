import Foundation
import Health
import I2C
import Journal
import Logging
import ServiceLifecycle
import Settings
import Synchronization

/// The sensor service: one scheduler task that sleeps until the next sensor is due (`SensorSchedule`) and runs
/// each due sensor's step in a child task, readings into `SensorReadings`, states and counters into the health
/// registry (loop `sensors`, component `sensor.<id>`). Nothing a sensor does can end the service: every failure
/// becomes a state, a counter and a retry with backoff.
public final class SensorService: Service, Sendable {
    public let readings: SensorReadings
    public let settings: SensorsSettings
    private let runners: [SensorRunner]
    private let health: HealthRegistry?
    private let clock: any SensorClock
    private let logger: Logger
    /// The schedule and the due times the scheduler's timers are armed for (read by the liveness check).
    private let scheduler = Mutex(Scheduler())

    struct Scheduler: Sendable {
        var schedule = SensorSchedule(intervals: [], now: .zero)
        /// Due times with a timer sleeping on the clock until them.
        var timers: [Duration] = []
        /// Steps running in child tasks.
        var childSteps = 0
        /// Whether a step runs in the scheduler's task.
        var stepHere = false
    }

    private enum Event: Sendable {
        case timer(Duration)
        case stepped(Int, SensorRunner.State, SensorSchedule.After)
    }

    public init(
        settings: SensorsSettings, calibration: SensorCalibration.Resolved, openBus: @escaping @Sendable (String) throws -> any I2CBus,
        readings: SensorReadings, clock: any SensorClock = SystemSensorClock(), stateDirectory: String? = nil,
        health: HealthRegistry? = nil, logReadings: Bool = false, policy: RetryPolicy = RetryPolicy(),
        logger: Logger = Logger(label: "sensors")
    ) {
        self.readings = readings
        self.settings = settings
        self.health = health
        self.clock = clock
        self.logger = logger
        let stateLog = StateChangeLog(logger: logger)
        runners = settings.devices.filter(\.enabled).map { device in
            SensorRunner(device: device, openBus: openBus, clock: clock, readings: readings, calibration: calibration,
                         stateDirectory: stateDirectory, health: health, logReadings: logReadings, policy: policy,
                         logger: logger, stateLog: stateLog)
        }
        for device in settings.devices where !device.enabled {
            logger.info("sensor disabled in configuration", metadata: ["sensor": .string(device.id)])
        }
    }

    public func run() async throws {
        let loop = "sensors"
        health?.register(loop: loop, period: .seconds(180))
        defer { health?.unregister(loop: loop) }
        logger.info("sensor service starting", metadata: ["sensors": .string(runners.map(\.device.id).joined(separator: ","))])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await self.runSchedule() }
            group.addTask { [self] in await self.watchLiveness(loop: loop) }
            // Returns on graceful shutdown, or throws when the service is cancelled: either way the sensors stop.
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.info("sensor service stopped")
    }

    /// The scheduler: sleeps until the next due time, with one timer for all sensors due then, so the SPS30,
    /// SHT4x, SDP8xx and SGP41 at 1 s cost one wake-up a second between them, not four or more. Quick steps run
    /// in this task, one after the other; a start, a queued operation or a step that was slow last time runs in
    /// a child task, so it delays only its own sensor. A step run here that hangs (an ioctl that never returns)
    /// holds up every sensor: the liveness check then stops the watchdog, as it did for one hung sensor.
    private func runSchedule() async {
        var states: [SensorRunner.State?] = runners.map { $0.initialState() }
        let start = clock.now()
        scheduler.withLock { $0 = Scheduler(schedule: SensorSchedule(intervals: runners.map(\.device.interval), now: start)) }
        await withTaskGroup(of: Event.self) { group in
            // Child tasks not yet received: steps and timers.
            var children = 0
            while !Task.isCancelled {
                let now = clock.now()
                var quick: [Int] = []
                for index in scheduler.withLock({ $0.schedule.takeDue(at: now) }) {
                    guard let state = states[index] else { continue }
                    if state.environment != nil, !runners[index].hasRequests, scheduler.withLock({ $0.schedule.isQuick(index) }) {
                        quick.append(index)
                        continue
                    }
                    states[index] = nil
                    let runner = runners[index]
                    children += 1
                    scheduler.withLock { $0.childSteps += 1 }
                    group.addTask {
                        var state = state
                        let after = await runner.step(&state)
                        return .stepped(index, state, after)
                    }
                }
                for index in quick {
                    guard var state = states[index] else { continue }
                    scheduler.withLock { $0.stepHere = true }
                    let after = await runners[index].step(&state)
                    let now = clock.now()
                    states[index] = state
                    scheduler.withLock { scheduler in
                        scheduler.stepHere = false
                        scheduler.schedule.finished(index, at: now, after: after)
                    }
                }
                // Quick steps took time: look again at what is due before sleeping.
                if !quick.isEmpty { continue }
                let next = scheduler.withLock { $0.schedule.nextDue }
                if children == 0 {
                    // Nothing runs elsewhere: sleep here (with no sensor at all there is nothing to do).
                    guard let next else { break }
                    scheduler.withLock { $0.timers.append(next) }
                    await clock.sleep(for: max(next - clock.now(), .zero))
                    receive(.timer(next), into: &states)
                    continue
                }
                // A child runs: wait for it or for the next due time, whichever comes first. One timer per due
                // time: none when one is armed for this time or before it (it fires first, and the loop comes
                // back here).
                if let next, scheduler.withLock({ scheduler in
                    guard !scheduler.timers.contains(where: { $0 <= next }) else { return false }
                    scheduler.timers.append(next)
                    return true
                }) {
                    children += 1
                    group.addTask { [clock] in
                        await clock.sleep(for: max(next - clock.now(), .zero))
                        return .timer(next)
                    }
                }
                guard let event = await group.next() else { break }
                children -= 1
                receive(event, into: &states)
            }
            // Cancelled: the steps still running end early (their sleeps return on cancellation); keep their state.
            group.cancelAll()
            while let event = await group.next() { receive(event, into: &states) }
        }
        for index in runners.indices {
            guard var state = states[index] else { continue }
            await runners[index].finish(&state)
        }
    }

    private func receive(_ event: Event, into states: inout [SensorRunner.State?]) {
        let now = clock.now()
        switch event {
        case .timer(let due):
            scheduler.withLock { scheduler in
                if let index = scheduler.timers.firstIndex(of: due) { scheduler.timers.remove(at: index) }
            }
        case .stepped(let index, let state, let after):
            states[index] = state
            scheduler.withLock { scheduler in
                scheduler.childSteps -= 1
                scheduler.schedule.finished(index, at: now, after: after)
            }
        }
    }

    /// How many tasks sleep on the clock once the scheduler has nothing to do until the clock moves: its armed
    /// timers and every running step (which can only be waiting on the clock then). For tests on a manual clock.
    var clockSleepersWhenSettled: Int {
        scheduler.withLock { $0.timers.count + $0.childSteps + ($0.stepHere ? 1 : 0) }
    }

    /// Beats the health loop while no sensor's step has run for more than 150 s (one stuck in a hung ioctl stops
    /// the beat) and no sensor has been due for more than 150 s without a step (the scheduler stopped). Checks once a minute, not every 2 s (issue 20): the registry's 180 s period runs from the last
    /// beat, and the last beat before a hang still comes at most 150 s after the hung step began, so a hang
    /// stops the watchdog no later than before (possibly sooner), and beats stay well within the period.
    private func watchLiveness(loop: String) async {
        while !Task.isCancelled {
            let now = clock.now()
            let stuck = scheduler.withLock { $0.schedule.stuck(at: now, limit: .seconds(150)) }
            if stuck.isEmpty { health?.beat(loop) }
            try? await Task.sleep(for: .seconds(60))
        }
    }

    /// SCD4x forced recalibration on `sensorID` (or the only SCD4x); returns the correction in ppm.
    public func forcedRecalibration(sensorID: String?, referencePPM: Int) async throws -> Int {
        try await runner(sensorID, type: .scd4x).submit(.forcedRecalibration(referencePPM: referencePPM))
    }

    /// SPS30 fan cleaning on `sensorID` (or the only SPS30).
    public func fanCleaning(sensorID: String?) async throws {
        _ = try await runner(sensorID, type: .sps30).submit(.fanCleaning)
    }

    private func runner(_ id: String?, type: SensorType) throws -> SensorRunner {
        let candidates = runners.filter { $0.device.type == type && (id == nil || $0.device.id == id) }
        guard candidates.count == 1, let runner = candidates.first else {
            let what = id.map { "sensor '\($0)' of type \(type.rawValue)" } ?? "exactly one \(type.rawValue)"
            throw SensorError(.invalidConfiguration, "no \(what) is configured and enabled")
        }
        return runner
    }

    /// One round for `remotaird sensors`: runs every sensor until it published once or `timeout` passed
    /// (warm-ups included), then stops the chips. `sequential` runs sensors one after another, so that on a
    /// virtual clock each sees its own uninterrupted timeline; on real time they run in parallel.
    public func collectOneRound(timeout: Duration, sequential: Bool) async -> [SensorStatus] {
        if sequential {
            for runner in runners {
                await runner.run(untilPublished: 1, deadline: clock.now() + timeout)
            }
        } else {
            let deadline = clock.now() + timeout
            await withTaskGroup(of: Void.self) { group in
                for runner in runners {
                    group.addTask { await runner.run(untilPublished: 1, deadline: deadline) }
                }
            }
        }
        return readings.statuses()
    }
}

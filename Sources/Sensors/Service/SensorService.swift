import Foundation
import Health
import I2C
import Journal
import Logging
import ServiceLifecycle
import Settings
import Synchronization

/// The sensor service: one runner task per enabled sensor, readings into `SensorReadings`, states and counters
/// into the health registry (loop `sensors`, component `sensor.<id>`). Nothing a sensor does can end the
/// service: every failure becomes a state, a counter and a retry with backoff.
public final class SensorService: Service, Sendable {
    public let readings: SensorReadings
    public let settings: SensorsSettings
    private let runners: [SensorRunner]
    private let health: HealthRegistry?
    private let clock: any SensorClock
    private let logger: Logger

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
            for runner in runners {
                group.addTask { await runner.run() }
            }
            group.addTask { [self] in await self.watchLiveness(loop: loop) }
            // Returns on graceful shutdown, or throws when the service is cancelled: either way the runners stop.
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.info("sensor service stopped")
    }

    /// Beats the health loop while every runner keeps iterating (a runner stuck in a hung ioctl stops the beat).
    /// Checks once a minute, not every 2 s (issue 20): the registry's 180 s period runs from the last beat, and
    /// the last beat before a hang still comes at most 150 s after the hung runner's last progress, so a hang
    /// stops the watchdog no later than before (possibly sooner), and beats stay well within the period.
    private func watchLiveness(loop: String) async {
        while !Task.isCancelled {
            let now = clock.now()
            let stuck = runners.filter { now - $0.lastProgress.withLock { $0 } > .seconds(150) }
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

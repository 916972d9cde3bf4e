import Foundation
import Health
import I2C
import Journal
import Logging
import Settings
import Synchronization

/// Drives one configured sensor, one step at a time: opens its bus, starts the chip, samples it, publishes
/// calibrated readings and its status, and restarts it with backoff after faults. The chip adapter lives in a
/// `State` that only the task running the sensor's step holds, so only that task touches the chip; operations
/// from the control socket are queued and run before the next sample.
final class SensorRunner: Sendable {
    struct Request: Sendable {
        var operation: SensorOperation
        var reply: CheckedContinuation<Int, any Error>
    }

    let device: SensorDeviceSettings
    let openBus: @Sendable (String) throws -> any I2CBus
    let clock: any SensorClock
    let readings: SensorReadings
    let calibration: SensorCalibration.Resolved
    let stateDirectory: String?
    let health: HealthRegistry?
    let logReadings: Bool
    let policy: RetryPolicy
    let logger: Logger
    let stateLog: StateChangeLog
    private let requests = Mutex<[Request]>([])

    init(device: SensorDeviceSettings, openBus: @escaping @Sendable (String) throws -> any I2CBus, clock: any SensorClock,
         readings: SensorReadings, calibration: SensorCalibration.Resolved, stateDirectory: String?, health: HealthRegistry?,
         logReadings: Bool, policy: RetryPolicy, logger: Logger, stateLog: StateChangeLog) {
        self.device = device
        self.openBus = openBus
        self.clock = clock
        self.readings = readings
        self.calibration = calibration
        self.stateDirectory = stateDirectory
        self.health = health
        self.logReadings = logReadings
        self.policy = policy
        self.logger = logger
        self.stateLog = stateLog
    }

    var component: String { ComponentName.sensor(device.id) }

    /// Whether operations wait for the next step (which then runs them, and may take long).
    var hasRequests: Bool { requests.withLock { !$0.isEmpty } }

    /// Queues an operation; it runs before the next sample. Fails at once when the sensor is not running.
    func submit(_ operation: SensorOperation) async throws -> Int {
        let state = readings.status(of: device.id)?.state
        guard state == .ok || state == .warming || state == .stale else {
            throw SensorError(.notResponding, "\(device.id) is \(state?.rawValue ?? "not started"); cannot run \(operation)")
        }
        return try await withCheckedThrowingContinuation { continuation in
            requests.withLock { $0.append(Request(operation: operation, reply: continuation)) }
        }
    }

    /// What a runner keeps between steps: the chip adapter and the open environment, owned by whichever task
    /// runs the sensor's step (the service's scheduler runs at most one step per sensor at a time).
    struct State: Sendable {
        var tracker: SensorHealthTracker
        var chip: any SensorChip
        var environment: ChipEnvironment?
        var published = 0
        var probedAlternates = false
    }

    /// A fresh state; publishes the sensor's first status (absent until it starts).
    func initialState() -> State {
        let state = State(tracker: SensorHealthTracker(id: device.id, type: device.type, interval: device.interval, policy: policy),
                          chip: makeChip(device.type))
        publish(state.tracker.status)
        return state
    }

    /// One turn: starts the chip when it is not running, serves queued operations, takes one sample, publishes.
    /// Returns when the sensor wants its next turn: on its interval, or after a restart backoff.
    func step(_ state: inout State) async -> SensorSchedule.After {
        // Start (or restart) the chip.
        let starting = state.environment == nil
        if starting {
            do {
                let env = try makeEnvironment()
                let serial = try await state.chip.start(env)
                state.environment = env
                state.tracker.started(serial: serial, at: clock.now())
                stateLog.report(device.id, state: "started", level: .info, "sensor started", metadata: metadata(state.tracker.status))
            } catch {
                var next = state.tracker.startFailed(error)
                if state.tracker.status.state == .absent, !state.probedAlternates {
                    state.probedAlternates = true
                    if let found = await probeAlternateAddresses() {
                        let message = "no answer at 0x\(String(device.address, radix: 16)), but a \(device.type.rawValue) answers at 0x\(String(found, radix: 16)): check the configured address"
                        logger.error("sensor at an unexpected address", metadata: ["sensor": .string(device.id), "found_at": .string("0x" + String(found, radix: 16))])
                        next = state.tracker.startFailed(SensorError(.wrongDevice, message))
                    }
                }
                publish(state.tracker.status)
                report(state.tracker.status, error: error)
                if case .restart(let delay) = next { return .delay(delay) }
                return .delay(.zero)
            }
            publish(state.tracker.status)
        }
        guard let env = state.environment else { return .delay(.zero) }
        await serveRequests(&state.chip, env)
        var next = SensorHealthTracker.Next.keepSampling
        do {
            switch try await state.chip.sample(env) {
            case .noData:
                next = state.tracker.noData(at: clock.now())
            case .warming:
                state.tracker.sampled(warming: true, at: clock.now())
            case .values(let values):
                if publishValues(values, serial: state.tracker.status.serial) {
                    state.tracker.sampled(warming: false, at: clock.now())
                    state.published += 1
                } else {
                    next = state.tracker.sampleFailed(SensorError(.implausible, "\(device.id): value outside the plausible range"))
                }
            }
        } catch {
            next = state.tracker.sampleFailed(error)
        }
        publish(state.tracker.status)
        report(state.tracker.status, error: nil)
        if case .restart(let delay) = next {
            await state.chip.stop(env)
            state.environment = nil
            stateLog.report(device.id, state: "restarting", level: .warning, "sensor restarting after faults", metadata: metadata(state.tracker.status))
            return .delay(delay)
        }
        return starting ? .intervalFromNow : .interval
    }

    /// Leaves a running chip idle and fails queued operations (the service stops).
    func finish(_ state: inout State) async {
        if let env = state.environment {
            await state.chip.stop(env)
            state.environment = nil
        }
        failPendingRequests()
    }

    /// Runs alone until `rounds` samples were published or `deadline` passed (or the task is cancelled), sleeping
    /// on the clock between steps: the one-round path of `remotaird sensors`, where each sensor may run on its
    /// own timeline. The service's scheduler runs `step` itself.
    func run(untilPublished rounds: Int, deadline: Duration) async {
        var state = initialState()
        while !Task.isCancelled, state.published < rounds, clock.now() < deadline {
            let stepStart = clock.now()
            switch await step(&state) {
            case .delay(let delay):
                await clock.sleep(for: delay)
            case .interval, .intervalFromNow:
                let elapsed = clock.now() - stepStart
                if elapsed < device.interval { await clock.sleep(for: device.interval - elapsed) }
            }
        }
        await finish(&state)
    }

    /// Tries the type's other addresses once; returns the first where the chip starts (and stops it again).
    private func probeAlternateAddresses() async -> I2CAddress? {
        guard var env = try? makeEnvironment() else { return nil }
        for address in alternateAddresses(device.type) where address != device.address {
            env.address = address
            var probe = makeChip(device.type)
            if (try? await probe.start(env)) != nil {
                await probe.stop(env)
                return address
            }
        }
        return nil
    }

    private func makeEnvironment() throws(SensorError) -> ChipEnvironment {
        let bus: any I2CBus
        do {
            bus = try openBus(device.bus)
        } catch let error as I2CError {
            throw SensorError(error, during: "cannot open the bus")
        } catch {
            throw SensorError(.busMissing, "cannot open \(device.bus): \(error)")
        }
        return ChipEnvironment(
            sensorID: device.id, bus: bus, address: device.address, clock: clock, interval: device.interval, readings: readings,
            calibration: calibration, stateDirectory: stateDirectory, logger: logger)
    }

    /// Checks plausibility of every value first (a frame is published whole or not at all), then calibrates.
    private func publishValues(_ values: [(Metric, Double)], serial: String?) -> Bool {
        guard values.allSatisfy({ $0.0.plausibleRange.contains($0.1) && $0.1.isFinite }) else {
            let bad = values.filter { !$0.0.plausibleRange.contains($0.1) }.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " ")
            logger.debug("implausible values rejected", metadata: ["sensor": .string(device.id), "values": .string(bad)])
            return false
        }
        let now = clock.date()
        let published = values.map { metric, value in
            let correction = calibration.corrections[metric.rawValue]
            return Reading(sensorID: device.id, sensorType: device.type, serial: serial, metric: metric,
                           value: correction.map { $0.correction.apply(value) } ?? value, timestamp: now, calibration: correction?.label)
        }
        readings.publish(published)
        if logReadings {
            var fields: Logger.Metadata = ["sensor": .string(device.id)]
            for reading in published { fields[reading.metric.rawValue] = .string(String(format: "%.2f", reading.value)) }
            logger.info("reading", metadata: fields)
        }
        return true
    }

    private func serveRequests(_ chip: inout any SensorChip, _ env: ChipEnvironment) async {
        let pending = requests.withLock { queue -> [Request] in
            defer { queue.removeAll() }
            return queue
        }
        for request in pending {
            do {
                request.reply.resume(returning: try await chip.perform(request.operation, env))
            } catch {
                request.reply.resume(throwing: error)
            }
        }
    }

    private func failPendingRequests() {
        let pending = requests.withLock { queue -> [Request] in
            defer { queue.removeAll() }
            return queue
        }
        for request in pending {
            request.reply.resume(throwing: SensorError(.notResponding, "\(device.id): sensor service stopped"))
        }
    }

    private func publish(_ status: SensorStatus) {
        readings.update(status)
        health?.publish(component, state: status.state.rawValue, detail: [
            "type": status.type.rawValue, "reads": "\(status.reads)", "crc_errors": "\(status.crcErrors)", "nacks": "\(status.nacks)",
            "reinits": "\(status.reinits)", "rejected": "\(status.rejected)", "last_error": status.lastError ?? "",
        ])
    }

    /// Logs state changes once (a missing sensor is logged once, not every retry).
    private func report(_ status: SensorStatus, error: SensorError?) {
        let level: Logger.Level
        switch status.state {
        case .ok, .warming: level = .info
        case .stale: level = .warning
        case .absent, .faulted: level = .error
        }
        var fields = metadata(status)
        if let error {
            fields["error"] = .string(error.description)
            fields["last_error"] = nil
        }
        stateLog.report(device.id, state: status.state.rawValue, level: level, "sensor \(status.state.rawValue)", metadata: fields)
    }

    private func metadata(_ status: SensorStatus) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "sensor": .string(device.id), "type": .string(device.type.rawValue), "bus": .string(device.bus),
            "address": .string("0x" + String(device.address, radix: 16)),
        ]
        if let serial = status.serial { fields["serial"] = .string(serial) }
        if let error = status.lastError { fields["last_error"] = .string(error) }
        return fields
    }
}

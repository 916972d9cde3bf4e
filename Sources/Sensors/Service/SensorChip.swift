import Foundation
import I2C
import Logging
import Settings

/// What a chip adapter gets from the service.
struct ChipEnvironment: Sendable {
    var sensorID: String
    var bus: any I2CBus
    var address: I2CAddress
    var clock: any SensorClock
    var interval: Duration
    var readings: SensorReadings
    var calibration: SensorCalibration.Resolved
    var stateDirectory: String?
    var logger: Logger
}

/// The outcome of one sample.
enum ChipSample: Sendable {
    /// No new data this time (data-ready flag 0).
    case noData
    /// A valid sample during the chip's warm-up: counted, not published.
    case warming
    case values([(Metric, Double)])
}

/// Operations the control socket can ask of a running sensor.
public enum SensorOperation: Sendable, Equatable {
    /// SCD4x forced recalibration to a reference concentration; the result is the correction in ppm.
    case forcedRecalibration(referencePPM: Int)
    /// SPS30 fan cleaning (about 10 s at full speed).
    case fanCleaning
}

/// One chip family's start-up and sampling sequence. An adapter is held by one task at a time: the one running
/// its sensor's step.
protocol SensorChip: Sendable {
    /// Probes and initialises the chip; returns its serial (when it has one).
    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String?
    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample
    /// Leaves the chip idle (best effort: shutdown, or before a restart).
    mutating func stop(_ env: ChipEnvironment) async
    mutating func perform(_ operation: SensorOperation, _ env: ChipEnvironment) async throws(SensorError) -> Int
}

extension SensorChip {
    mutating func perform(_ operation: SensorOperation, _ env: ChipEnvironment) async throws(SensorError) -> Int {
        throw SensorError(.unsupported, "\(env.sensorID): this sensor does not support \(operation)")
    }
}

/// Where else a chip of this type can sit (address pins, part variants), for the "wrong address" diagnosis.
func alternateAddresses(_ type: SensorType) -> [I2CAddress] {
    switch type {
    case .sht4x: return [0x44, 0x45, 0x46]
    case .bme280: return [0x76, 0x77]
    case .sdp8xx: return [0x25, 0x26]
    case .sps30, .scd4x, .sgp41: return []
    }
}

func makeChip(_ type: SensorType) -> any SensorChip {
    switch type {
    case .scd4x: return SCD4xChip()
    case .sps30: return SPS30Chip()
    case .sgp41: return SGP41Chip()
    case .sht4x: return SHT4xChip()
    case .sdp8xx: return SDP8xxChip()
    case .bme280: return BME280Chip()
    }
}

/// A fresh value of `metric` from the first of `types` that has one (for cross-sensor compensation).
func freshValue(_ metric: Metric, from types: [SensorType], _ env: ChipEnvironment, maxAge: TimeInterval = 60) -> Double? {
    let now = env.clock.date()
    for type in types {
        if let reading = env.readings.latest().last(where: { $0.sensorType == type && $0.metric == metric }),
           now.timeIntervalSince(reading.timestamp) <= maxAge {
            return reading.value
        }
    }
    return nil
}

// MARK: - SCD4x

struct SCD4xChip: SensorChip {
    private var firstDataSeen = false
    private var lastPressure: Double?

    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let scd = SCD4x(bus: env.bus, address: env.address, clock: env.clock)
        let retry = RetryPolicy()
        // An SCD41 left in power-down answers nothing until woken.
        await scd.wakeUp()
        // A chip left in periodic mode (daemon restart) refuses configuration: stop it first.
        try await retry.retryingTransient(clock: env.clock) { () async throws(SensorError) in try await scd.stopPeriodicMeasurement() }
        let serial = try await retry.retryingTransient(clock: env.clock) { () async throws(SensorError) in try await scd.serialNumber() }
        let variant = try await scd.variant()
        if variant == .unknown {
            env.logger.warning("unexpected SCD4x variant; treating it as an SCD40", metadata: ["sensor": .string(env.sensorID)])
        }
        let calibration = env.calibration
        // RAM settings only; persist_settings (EEPROM) is never called here.
        try await scd.setTemperatureOffset(calibration.scd4xTemperatureOffset)
        try await scd.setAltitude(calibration.scd4xAltitude)
        try await scd.setAutomaticSelfCalibration(calibration.scd4xAutomaticSelfCalibration)
        try await scd.startPeriodicMeasurement()
        firstDataSeen = false
        lastPressure = nil
        env.logger.info("scd4x started", metadata: ["sensor": .string(env.sensorID), "variant": .string(variant.rawValue)])
        return String(format: "%012llX", serial)
    }

    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        let scd = SCD4x(bus: env.bus, address: env.address, clock: env.clock)
        // Ambient pressure compensation from the BME280 when there is one (overrides the altitude setting).
        if let pressure = freshValue(.pressure, from: [.bme280], env), (700...1200).contains(pressure),
           lastPressure.map({ abs($0 - pressure) >= 1 }) ?? true {
            try await scd.setAmbientPressure(hectopascal: pressure)
            lastPressure = pressure
        }
        guard try await scd.dataReady() else { return firstDataSeen ? .noData : .warming }
        let measurement = try await scd.readMeasurement()
        firstDataSeen = true
        return .values([(.co2, Double(measurement.co2)), (.temperature, measurement.temperature), (.humidity, measurement.humidity)])
    }

    mutating func stop(_ env: ChipEnvironment) async {
        _ = try? await SCD4x(bus: env.bus, address: env.address, clock: env.clock).stopPeriodicMeasurement()
    }

    mutating func perform(_ operation: SensorOperation, _ env: ChipEnvironment) async throws(SensorError) -> Int {
        guard case .forcedRecalibration(let reference) = operation else {
            throw SensorError(.unsupported, "\(env.sensorID): scd4x does not support \(operation)")
        }
        let scd = SCD4x(bus: env.bus, address: env.address, clock: env.clock)
        try await scd.stopPeriodicMeasurement()
        let correction: Int
        do {
            correction = try await scd.performForcedRecalibration(referencePPM: reference)
        } catch {
            try? await scd.startPeriodicMeasurement()
            throw error
        }
        try await scd.startPeriodicMeasurement()
        firstDataSeen = false
        env.logger.notice("scd4x forced recalibration", metadata: [
            "sensor": .string(env.sensorID), "reference_ppm": .stringConvertible(reference), "correction_ppm": .stringConvertible(correction),
        ])
        return correction
    }
}

// MARK: - SPS30

struct SPS30Chip: SensorChip {
    /// Sensirion: values are within spec 8 s after start for >= 200 #/cm3 (up to 30 s at very low counts).
    static let warmup: Duration = .seconds(8)
    private var startedAt: Duration = .zero
    private var warnedFanSpeed = false

    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let sps = SPS30(bus: env.bus, address: env.address, clock: env.clock)
        let retry = RetryPolicy()
        let product = try await retry.retryingTransient(clock: env.clock) { () async throws(SensorError) in try await sps.productType() }
        guard product.hasPrefix("0008") else {
            throw SensorError(.wrongDevice, "sps30 at 0x\(String(env.address, radix: 16)): product type '\(product)' is not an SPS30 (00080000)")
        }
        let serial = try await sps.serialNumber()
        // A measurement left running (daemon restart): stop it; idle chips refuse the command, which is fine.
        try? await sps.stopMeasurement()
        // The interval is stored in the chip's non-volatile memory: write it only when it differs.
        let wanted = UInt32(clamping: env.calibration.sps30CleaningInterval.components.seconds)
        if try await sps.autoCleaningInterval() != wanted {
            try await sps.setAutoCleaningInterval(seconds: wanted)
        }
        try await sps.clearDeviceStatus()
        try await sps.startMeasurement()
        startedAt = env.clock.now()
        warnedFanSpeed = false
        return serial
    }

    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        let sps = SPS30(bus: env.bus, address: env.address, clock: env.clock)
        let status = try await sps.deviceStatus()
        if status.contains(.fanError) { throw SensorError(.deviceFault, "sps30 fan error: fan on but 0 RPM") }
        if status.contains(.laserError) { throw SensorError(.deviceFault, "sps30 laser error: laser current out of range") }
        if status.contains(.fanSpeedWarning), !warnedFanSpeed {
            warnedFanSpeed = true
            env.logger.warning("sps30 fan speed out of range", metadata: ["sensor": .string(env.sensorID)])
        }
        guard try await sps.dataReady() else { return .noData }
        let measurement = try await sps.readMeasurement()
        if env.clock.now() - startedAt < Self.warmup { return .warming }
        let mass: [Metric] = [.pm1_0, .pm2_5, .pm4_0, .pm10]
        let number: [Metric] = [.nc0_5, .nc1_0, .nc2_5, .nc4_0, .nc10]
        return .values(Array(zip(mass, measurement.mass)) + Array(zip(number, measurement.number))
            + [(.typical_particle_size, measurement.typicalParticleSize)])
    }

    mutating func stop(_ env: ChipEnvironment) async {
        try? await SPS30(bus: env.bus, address: env.address, clock: env.clock).stopMeasurement()
    }

    mutating func perform(_ operation: SensorOperation, _ env: ChipEnvironment) async throws(SensorError) -> Int {
        guard operation == .fanCleaning else { throw SensorError(.unsupported, "\(env.sensorID): sps30 does not support \(operation)") }
        try await SPS30(bus: env.bus, address: env.address, clock: env.clock).startFanCleaning()
        return 0
    }
}

// MARK: - SHT4x

struct SHT4xChip: SensorChip {
    /// When the measurement started at the end of the last sample was commanded; nil when none is pending.
    private var measuringSince: Duration?

    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let sht = SHT4x(bus: env.bus, address: env.address, clock: env.clock)
        measuringSince = nil
        let serial = try await RetryPolicy().retryingTransient(clock: env.clock) { () async throws(SensorError) in try await sht.serialNumber() }
        return String(format: "%08X", serial)
    }

    /// SHT4x: a high-precision measurement is ready 8.3 ms after its command and stays in the chip until read,
    /// so each sample reads the measurement started at the end of the previous one and starts the next: one
    /// wake-up per interval instead of two (issue 20); the value is then up to one interval old. The first
    /// sample, and the one after a failure, measure on the spot. A start that fails is left to the next sample,
    /// which then measures on the spot and reports the error.
    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        let sht = SHT4x(bus: env.bus, address: env.address, clock: env.clock)
        let measurement: SHT4x.Measurement
        if let since = measuringSince {
            measuringSince = nil
            let ready = since + SHT4x.conversionTime
            let now = env.clock.now()
            if now < ready { await env.clock.sleep(for: ready - now) }
            measurement = try sht.readMeasurement()
        } else {
            measurement = try await sht.measure()
        }
        if (try? sht.startMeasurement()) != nil { measuringSince = env.clock.now() }
        return .values([(.temperature, measurement.temperature), (.humidity, measurement.humidity)])
    }

    mutating func stop(_ env: ChipEnvironment) async {}
}

// MARK: - SDP8xx

struct SDP8xxChip: SensorChip {
    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let sdp = SDP8xx(bus: env.bus, address: env.address, clock: env.clock)
        // Continuous mode from an earlier run refuses the identifier command: stop first (NACK when idle is fine).
        try? await sdp.stopContinuous()
        let identity = try await RetryPolicy().retryingTransient(clock: env.clock) { () async throws(SensorError) in try await sdp.identity() }
        guard identity.isSDP8xx else {
            throw SensorError(.wrongDevice, "sdp8xx at 0x\(String(env.address, radix: 16)): product number 0x\(String(identity.productNumber, radix: 16)) is not an SDP8xx")
        }
        env.logger.info("sdp8xx found", metadata: ["sensor": .string(env.sensorID), "model": .string(identity.model ?? "unknown SDP8xx")])
        try await sdp.startContinuous()
        return String(format: "%016llX", identity.serial)
    }

    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        let measurement = try SDP8xx(bus: env.bus, address: env.address, clock: env.clock).readMeasurement()
        return .values([(.differential_pressure, measurement.differentialPressure)])
    }

    mutating func stop(_ env: ChipEnvironment) async {
        try? await SDP8xx(bus: env.bus, address: env.address, clock: env.clock).stopContinuous()
    }
}

// MARK: - BME280

struct BME280Chip: SensorChip {
    private var calibration: BME280.Calibration?
    /// When the forced conversion triggered at the end of the last sample was started; nil when none is pending.
    private var measuringSince: Duration?

    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let bme = BME280(bus: env.bus, address: env.address, clock: env.clock)
        let id = try await RetryPolicy().retryingTransient(clock: env.clock) { () async throws(SensorError) in try bme.readChipID() }
        guard id == BME280.chipID else {
            let name = id == 0x58 ? "a BMP280 (no humidity)" : "chip id 0x\(String(id, radix: 16))"
            throw SensorError(.wrongDevice, "bme280 at 0x\(String(env.address, radix: 16)): found \(name), expected BME280 (0x60)")
        }
        measuringSince = nil
        try await bme.softReset()
        calibration = try bme.readCalibration()
        return nil
    }

    /// BME280: after a forced conversion (9.3 ms at 1x oversampling) the chip returns to sleep mode and keeps
    /// the result in its data registers, so each sample reads the conversion triggered at the end of the
    /// previous one and triggers the next: one wake-up per interval instead of two or more (issue 20); the
    /// value is then up to one interval old. The first sample, and the one after a failure, convert on the
    /// spot. A trigger that fails is left to the next sample, which then converts on the spot and reports it.
    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        guard let calibration else { throw SensorError(.malformed, "bme280: not initialised") }
        let bme = BME280(bus: env.bus, address: env.address, clock: env.clock)
        let measurement: BME280.Measurement
        if let since = measuringSince {
            measuringSince = nil
            let ready = since + BME280.conversionTime
            let now = env.clock.now()
            if now < ready { await env.clock.sleep(for: ready - now) }
            measurement = try await bme.readMeasurement(calibration: calibration)
        } else {
            measurement = try await bme.measure(calibration: calibration)
        }
        if (try? bme.startForcedMeasurement()) != nil { measuringSince = env.clock.now() }
        return .values([(.temperature, measurement.temperature), (.humidity, measurement.humidity), (.pressure, measurement.pressureHectopascal)])
    }

    mutating func stop(_ env: ChipEnvironment) async {}
}

// MARK: - SGP41

struct SGP41Chip: SensorChip {
    /// Datasheet: condition for 10 s after power-up, never longer (it can damage the NOx pixel).
    static let conditioning: Duration = .seconds(10)
    private var startedAt: Duration = .zero
    private var voc = GasIndexAlgorithm(kind: .voc)
    private var nox = GasIndexAlgorithm(kind: .nox)
    private var lastStateSave: Duration?

    mutating func start(_ env: ChipEnvironment) async throws(SensorError) -> String? {
        let sgp = SGP41(bus: env.bus, address: env.address, clock: env.clock)
        let serial = try await RetryPolicy().retryingTransient(clock: env.clock) { () async throws(SensorError) in try await sgp.serialNumber() }
        guard try await sgp.selfTest() else { throw SensorError(.deviceFault, "sgp41 self test failed") }
        voc = GasIndexAlgorithm(kind: .voc, samplingInterval: env.interval.seconds)
        nox = GasIndexAlgorithm(kind: .nox, samplingInterval: env.interval.seconds)
        if let saved = VOCStateFile(env).load(now: env.clock.date()) {
            voc.restore(mean: saved.mean, std: saved.std)
            env.logger.info("sgp41 VOC state restored", metadata: ["sensor": .string(env.sensorID)])
        }
        startedAt = env.clock.now()
        lastStateSave = nil
        return String(format: "%012llX", serial)
    }

    mutating func sample(_ env: ChipEnvironment) async throws(SensorError) -> ChipSample {
        let sgp = SGP41(bus: env.bus, address: env.address, clock: env.clock)
        // Compensate with RH/T from the SHT4x, else the SCD4x, else the datasheet's default words.
        var ticks = SGP41.uncompensated
        if let humidity = freshValue(.humidity, from: [.sht4x, .scd4x], env),
           let temperature = freshValue(.temperature, from: [.sht4x, .scd4x], env) {
            ticks = SGP41.compensationTicks(humidity: humidity, temperature: temperature)
        }
        let now = env.clock.now()
        if now - startedAt < Self.conditioning {
            _ = try await sgp.executeConditioning(humidityTicks: ticks.humidity, temperatureTicks: ticks.temperature)
            return .warming
        }
        let raw = try await sgp.measureRawSignals(humidityTicks: ticks.humidity, temperatureTicks: ticks.temperature)
        let vocIndex = voc.process(Int32(raw.voc))
        let noxIndex = nox.process(Int32(raw.nox))
        saveStateIfDue(env, now: now)
        // The algorithm answers 0 during its 45 s blackout.
        guard vocIndex > 0, noxIndex > 0 else { return .warming }
        return .values([(.voc_index, Double(vocIndex)), (.nox_index, Double(noxIndex)), (.sraw_voc, Double(raw.voc)), (.sraw_nox, Double(raw.nox))])
    }

    /// Saves the VOC state at most every 3 h, once the algorithm has learned for 3 h.
    private mutating func saveStateIfDue(_ env: ChipEnvironment, now: Duration) {
        guard voc.stateIsMature, lastStateSave.map({ now - $0 >= .seconds(3 * 3600) }) ?? true else { return }
        lastStateSave = now
        let state = voc.state
        VOCStateFile(env).save(mean: state.mean, std: state.std, at: env.clock.date())
    }

    mutating func stop(_ env: ChipEnvironment) async {
        try? await SGP41(bus: env.bus, address: env.address, clock: env.clock).turnHeaterOff()
        // Save a learned state on the way out too, so a restart within 10 minutes can resume from it.
        if voc.stateIsMature {
            let state = voc.state
            VOCStateFile(env).save(mean: state.mean, std: state.std, at: env.clock.date())
        }
    }
}

/// `<state_dir>/sgp41-<id>.voc-state.json`: the VOC algorithm state, restored only after a gap of at most 10 min.
struct VOCStateFile {
    struct Saved: Codable { var mean: Float; var std: Float; var savedAt: Date }
    let path: String?
    let logger: Logger

    init(_ env: ChipEnvironment) {
        path = env.stateDirectory.map { ($0 as NSString).appendingPathComponent("sgp41-\(env.sensorID).voc-state.json") }
        logger = env.logger
    }

    func load(now: Date) -> Saved? {
        guard let path, let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let saved = try? JSONDecoder().decode(Saved.self, from: data), saved.mean.isFinite, saved.std.isFinite, saved.std > 0 else {
            logger.warning("ignoring unreadable VOC state file", metadata: ["path": .string(path)])
            return nil
        }
        // The algorithm's rule: no restore across gaps longer than 10 minutes.
        let age = now.timeIntervalSince(saved.savedAt)
        return (0...600).contains(age) ? saved : nil
    }

    func save(mean: Float, std: Float, at date: Date) {
        guard let path else { return }
        do {
            let data = try JSONEncoder().encode(Saved(mean: mean, std: std, savedAt: date))
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("cannot save VOC state", metadata: ["path": .string(path), "error": .string("\(error)")])
        }
    }
}

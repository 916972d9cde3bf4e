import Foundation
import I2C
import Logging
import SensorEmulators
@testable import Sensors
import Settings
import Testing

/// The sensor service on the simulated bus, driven by a manual clock: warm-ups, a fault script with every
/// injectable fault, recalibration, compensation, calibration and the one-round path of `remotaird sensors`.
@Suite struct SensorServiceTests {
    struct Harness {
        let clock = ManualClock()
        let bus: SimulatedI2CBus
        let readings = SensorReadings()
        let service: SensorService
        let task: Task<Void, Never>

        init(_ devices: [SensorDeviceSettings], chips: [@Sendable () -> any ChipEmulator], air: AirState = AirState(),
             calibration: SensorCalibration.Resolved = SensorCalibration.Resolved()) {
            bus = SimulatedI2CBus(name: "sim-i2c-1", clock: clock)
            for chip in chips { bus.mount(chip) }
            bus.setAir(air)
            let bus = self.bus
            service = SensorService(settings: SensorsSettings(devices: devices), calibration: calibration, openBus: { _ in bus },
                                    readings: readings, clock: clock)
            let service = self.service
            task = Task { try? await service.run() }
        }

        func advance(_ seconds: Double) async {
            let service = self.service
            await clock.advance(by: .milliseconds(Int64(seconds * 1000)), sleepers: { max(service.clockSleepersWhenSettled, 1) })
        }

        func status(_ id: String) -> SensorStatus? { readings.status(of: id) }

        func stop() async {
            task.cancel()
            await task.value
        }
    }

    static func device(_ type: SensorType, _ id: String? = nil, address: UInt8? = nil) -> SensorDeviceSettings {
        SensorDeviceSettings(id: id ?? type.rawValue, type: type, bus: "sim-i2c-1", address: address)
    }

    @Test func faultScript() async throws {
        var calibration = SensorCalibration.Resolved()
        calibration.corrections["co2"] = (SensorCalibration.Correction(offset: 10, gain: 1), "default")
        let h = Harness([Self.device(.scd4x), Self.device(.sps30), Self.device(.sht4x)],
                        chips: [{ SCD4xEmulator() }, { SPS30Emulator() }, { SHT4xEmulator() }], calibration: calibration)

        // Warm-ups: the SHT4x is ok at once, the SCD4x after its first 5 s period, the SPS30 after 8 s.
        await h.advance(1)
        #expect(h.status("sht4x")?.state == .ok)
        #expect(h.status("scd4x")?.state == .warming)
        #expect(h.status("sps30")?.state == .warming)
        #expect(h.readings.latest(metric: .co2) == nil)
        await h.advance(11)
        #expect(h.status("scd4x")?.state == .ok)
        #expect(h.status("sps30")?.state == .ok)
        let co2 = try #require(h.readings.latest(metric: .co2))
        #expect(co2.value == 630)  // 620 ppm + calibration offset 10
        #expect(co2.calibration == "default")
        #expect(co2.serial == "1A2B3C4D5E6F")
        #expect(h.readings.latest(metric: .pm2_5)?.value == 6.300000190734863)  // float on the wire
        #expect(h.readings.latest(metric: .temperature)?.calibration == nil)

        // Bad CRC: counted, nothing published from that frame, the sensor stays ok.
        let before = try #require(h.status("sht4x"))
        h.bus.inject(.badCRC(count: 1), at: 0x44)
        await h.advance(1)
        #expect(h.status("sht4x")?.crcErrors == before.crcErrors + 1)
        #expect(h.status("sht4x")?.state == .ok)

        // NACK burst: three failed samples in a row restart the sensor (absent meanwhile), then it recovers.
        h.bus.inject(.nackBurst(count: 6), at: 0x44)
        await h.advance(4)
        #expect(h.status("sht4x")?.state == .absent)
        #expect((h.status("sht4x")?.nacks ?? 0) >= 3)
        await h.advance(6)
        #expect(h.status("sht4x")?.state == .ok)
        #expect(h.status("sht4x")?.reinits == 1)

        // Data-ready stuck at 0: stale after three missed periods (15 s); fresh data again: ok.
        h.bus.inject(.dataReadyStuck(true), at: 0x62)
        let co2Time = try #require(h.readings.latest(metric: .co2)?.timestamp)
        await h.advance(20)
        #expect(h.status("scd4x")?.state == .stale)
        #expect(h.readings.latest(metric: .co2)?.timestamp == co2Time)
        h.bus.inject(.dataReadyStuck(false), at: 0x62)
        await h.advance(6)
        #expect(h.status("scd4x")?.state == .ok)

        // SPS30 fan error: faulted at once, restarted after backoff; once the fan turns again: ok.
        h.bus.inject(.fanError(true), at: 0x69)
        await h.advance(1)
        #expect(h.status("sps30")?.state == .faulted)
        #expect(h.status("sps30")?.lastError?.contains("fan error") == true)
        h.bus.inject(.fanError(false), at: 0x69)
        await h.advance(15)
        #expect(h.status("sps30")?.state == .ok)
        #expect(h.status("sps30")?.reinits == 1)

        // Device gone, then back: absent, retried with backoff, re-initialised from power-on.
        h.bus.inject(.gone, at: 0x69)
        await h.advance(10)
        #expect(h.status("sps30")?.state == .absent)
        h.bus.inject(.back, at: 0x69)
        await h.advance(40)
        #expect(h.status("sps30")?.state == .ok)
        #expect(h.status("sps30")?.reinits == 2)

        // Impossible values (CO2 0 ppm) are rejected and counted, never published.
        var air = AirState()
        air.co2 = 0
        h.bus.setAir(air)
        let rejectedBefore = h.status("scd4x")?.rejected ?? 0
        let lastCO2 = h.readings.latest(metric: .co2)
        await h.advance(6)
        #expect((h.status("scd4x")?.rejected ?? 0) > rejectedBefore)
        #expect(h.readings.latest(metric: .co2) == lastCO2)
        await h.stop()
    }

    @Test func forcedRecalibrationThroughTheService() async throws {
        var air = AirState()
        air.co2 = 450
        let h = Harness([Self.device(.scd4x)], chips: [{ SCD4xEmulator() }], air: air)
        h.bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.co2Bias = 40 }
        // Started at 0.54 s, first value 5 s later, read at the next grid point, 6 s (its 1 ms command waits after).
        await h.advance(7)
        #expect(h.readings.latest(metric: .co2)?.value == 490)
        let service = h.service
        let request = Task { try await service.forcedRecalibration(sensorID: nil, referencePPM: 450) }
        // The request waits for the runner's next turn.
        try await Task.sleep(for: .milliseconds(20))
        await h.advance(6)
        #expect(try await request.value == -40)
        await h.advance(12)
        #expect(h.readings.latest(metric: .co2)?.value == 450)
        #expect(h.bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.persistCount } == 0)
        await #expect(throws: SensorError.self) { _ = try await service.forcedRecalibration(sensorID: "nope", referencePPM: 450) }
        await h.stop()
    }

    @Test func scd4xGetsAmbientPressureFromTheBME280() async throws {
        var air = AirState()
        air.pressure = 931.6
        let h = Harness([Self.device(.bme280), Self.device(.scd4x)], chips: [{ BME280Emulator() }, { SCD4xEmulator() }], air: air)
        await h.advance(12)
        #expect(h.status("scd4x")?.state == .ok)
        #expect(h.bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.ambientPressure } == 932)
        await h.stop()
    }

    @Test func chipAtAnotherAddressIsNamed() async throws {
        let h = Harness([Self.device(.sht4x)], chips: [{ SHT4xEmulator(address: 0x45) }])
        await h.advance(1)
        let status = try #require(h.status("sht4x"))
        #expect(status.state == .faulted)
        #expect(status.lastError?.contains("answers at 0x45") == true)
        await h.stop()
    }

    @Test func sensorMissingAtStartIsAbsentAndRetried() async throws {
        let h = Harness([Self.device(.sht4x)], chips: [])
        await h.advance(1)
        #expect(h.status("sht4x")?.state == .absent)
        await h.advance(30)
        let attempts = h.status("sht4x")?.nacks ?? 0
        // Backoff: 1, 2, 4, 8, 16 s... a handful of probes in 31 s, not one per second.
        #expect(attempts >= 3 && attempts <= 6)
        h.bus.mount { SHT4xEmulator() }
        await h.advance(70)
        #expect(h.status("sht4x")?.state == .ok)
        await h.stop()
    }

    @Test func sgp41ConditionsCompensatesAndSamplesEverySecond() async throws {
        var air = AirState()
        air.humidity = 40
        air.temperature = 21
        let h = Harness([Self.device(.sht4x), Self.device(.sgp41)], chips: [{ SHT4xEmulator() }, { SGP41Emulator() }], air: air)
        await h.advance(30)
        #expect(h.status("sgp41")?.state == .warming)
        let conditioning = try #require(h.bus.withChip(SGP41Emulator.self, at: 0x59) { $0.conditioningDuration })
        #expect(conditioning < .seconds(10))
        #expect(conditioning >= .seconds(8))
        let ticks = SGP41.compensationTicks(humidity: 40, temperature: 21)
        let sent = h.bus.withChip(SGP41Emulator.self, at: 0x59) { $0.lastCompensation }
        #expect(sent?.count == 2)
        #expect(abs(Int(sent?[0] ?? 0) - Int(ticks.humidity)) <= 2)
        #expect(abs(Int(sent?[1] ?? 0) - Int(ticks.temperature)) <= 2)
        await h.advance(40)
        #expect(h.status("sgp41")?.state == .ok)
        let window = h.readings.window(metric: .voc_index, duration: .seconds(10))
        #expect(window.count >= 10)
        let gaps = zip(window.dropFirst(), window).map { $0.timestamp.timeIntervalSince($1.timestamp) }
        #expect(gaps.allSatisfy { abs($0 - 1) < 1e-6 })
        await h.stop()
    }

    @Test func oneRoundOnTheSimulatedBoard() async throws {
        let clock = VirtualClock()
        let bus = SimulatedI2CBus(name: "sim-i2c-1", clock: clock)
        for chip: @Sendable () -> any ChipEmulator in [{ SPS30Emulator() }, { SCD4xEmulator() }, { SGP41Emulator() }, { SHT4xEmulator() }, { SDP8xxEmulator() }, { BME280Emulator() }] {
            bus.mount(chip)
        }
        bus.setAir(model: AirState.drifting(at:))
        let devices = SensorType.allCases.map { Self.device($0) } + [Self.device(.sht4x, "missing", address: 0x45)]
        let readings = SensorReadings()
        let service = SensorService(settings: SensorsSettings(devices: devices), calibration: .init(), openBus: { _ in bus },
                                    readings: readings, clock: clock)
        let statuses = await service.collectOneRound(timeout: .seconds(120), sequential: true)
        #expect(statuses.map(\.id) == devices.map(\.id))
        for status in statuses where status.id != "missing" {
            #expect(status.state == .ok, "\(status.id): \(status.lastError ?? "")")
            #expect(readings.latest().contains { $0.sensorID == status.id })
        }
        #expect(statuses.last?.state == .absent)
    }

    @Test func sensorsShareOneWakeUpPerDueTime() async throws {
        // The SPS30 and the SDP8xx sample without a conversion wait; the SHT4x (1 s) and the BME280 (5 s) read the
        // measurement they started at their previous sample. Once warm, each second is one sleep on the clock
        // for all four (it was one per sensor with a loop each, plus one per SHT4x or BME280 conversion).
        let h = Harness([Self.device(.sps30), Self.device(.sdp8xx), Self.device(.sht4x), Self.device(.bme280)],
                        chips: [{ SPS30Emulator() }, { SDP8xxEmulator() }, { SHT4xEmulator() }, { BME280Emulator() }])
        await h.advance(10)
        let ids = ["sps30", "sdp8xx", "sht4x", "bme280"]
        #expect(ids.allSatisfy { h.status($0)?.state == .ok })
        let sleeps = h.clock.sleepCount
        let reads = ids.map { h.status($0)?.reads ?? 0 }
        await h.advance(10)
        #expect(h.clock.sleepCount - sleeps == 10)
        #expect(zip(ids, reads).map { (h.status($0)?.reads ?? 0) - $1 } == [10, 10, 10, 2])
        // The started measurement is the one read: a change of the air shows at the next sample but one.
        var air = AirState()
        air.temperature = 30.5
        h.bus.setAir(air)
        await h.advance(1)
        #expect(h.readings.latest().last { $0.sensorID == "sht4x" && $0.metric == .temperature }.map { abs($0.value - 30.5) < 0.01 } == false)
        await h.advance(1)
        #expect(h.readings.latest().last { $0.sensorID == "sht4x" && $0.metric == .temperature }.map { abs($0.value - 30.5) < 0.01 } == true)
        await h.stop()
    }

    @Test func aSlowSensorDoesNotDelayTheOthers() async throws {
        let h = Harness([Self.device(.scd4x), Self.device(.sdp8xx)], chips: [{ SCD4xEmulator() }, { SDP8xxEmulator() }])
        await h.advance(6)
        let service = h.service
        // A forced recalibration takes the SCD4x about a second (stop 500 ms, recalibration 400 ms) at its next
        // turn, 10 s, the same wake-up as the SDP8xx's read.
        let request = Task { try await service.forcedRecalibration(sensorID: nil, referencePPM: 450) }
        try await Task.sleep(for: .milliseconds(20))
        await h.advance(8)
        _ = try await request.value
        // The SDP8xx was still read on every whole second, not after the SCD4x's step.
        let window = h.readings.window(metric: .differential_pressure, duration: .seconds(8))
        #expect(window.count >= 8)
        let start = h.clock.date().addingTimeInterval(-h.clock.now().seconds)
        let offsets = window.map { $0.timestamp.timeIntervalSince(start) }
        #expect(offsets.allSatisfy { abs($0 - $0.rounded()) < 1e-6 }, "\(offsets)")
        await h.stop()
    }

    @Test func vocStateRestoredOnlyAfterShortGaps() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("voc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let env = ChipEnvironment(sensorID: "sgp", bus: SimulatedI2CBus(name: "x", clock: VirtualClock()), address: 0x59, clock: VirtualClock(),
                                  interval: .seconds(1), readings: SensorReadings(), calibration: .init(), stateDirectory: directory,
                                  logger: .init(label: "test"))
        let file = VOCStateFile(env)
        let saved = Date(timeIntervalSince1970: 1_800_000_000)
        file.save(mean: 7123.5, std: 48.25, at: saved)
        #expect(file.load(now: saved.addingTimeInterval(599))?.mean == 7123.5)
        #expect(file.load(now: saved.addingTimeInterval(601)) == nil)
    }
}

import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct SCD4xTests {
    // MARK: Against hand-computed datasheet frames

    @Test func readMeasurementFromDatasheetFrame() async throws {
        // CO2 500 ppm (0x01F4), T raw 0x6667 -> 25.0 degC, RH raw 0x5EB9 -> 37.0 %; CRCs per the datasheet algorithm.
        let bus = ScriptedBus(reads: [[0x01, 0xF4, 0x33, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C]])
        let scd = SCD4x(bus: bus, clock: VirtualClock())
        let measurement = try await scd.readMeasurement()
        #expect(measurement.co2 == 500)
        #expect(abs(measurement.temperature - 25.0) < 0.01)
        #expect(abs(measurement.humidity - 37.0) < 0.01)
        #expect(bus.writes == [[0xEC, 0x05]])
    }

    @Test func temperatureOffsetFrame() async throws {
        // Datasheet example: 5.4 degC -> 5.4 * 65535 / 175 = 0x07E6, CRC 0x48.
        let bus = ScriptedBus()
        try await SCD4x(bus: bus, clock: VirtualClock()).setTemperatureOffset(5.4)
        #expect(bus.writes == [[0x24, 0x1D, 0x07, 0xE6, 0x48]])
    }

    @Test func rejectsBadFramesAndImpossibleValues() async {
        let crc = ScriptedBus(reads: [[0x01, 0xF4, 0x34, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C]])
        #expect(await expectSensorError(.crc) { _ = try await SCD4x(bus: crc, clock: VirtualClock()).readMeasurement() })
        let short = ScriptedBus(reads: [[0x01, 0xF4, 0x33]])
        #expect(await expectSensorError(.malformed) { _ = try await SCD4x(bus: short, clock: VirtualClock()).readMeasurement() })
        let zero = ScriptedBus(reads: [[0x00, 0x00, 0x81, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C]])
        #expect(await expectSensorError(.implausible) { _ = try await SCD4x(bus: zero, clock: VirtualClock()).readMeasurement() })
    }

    @Test func forcedRecalibrationDecodesCorrection() async throws {
        // Response 0x8000 + 30 = 0x801E -> +30 ppm; 0xFFFF -> failure.
        let bus = ScriptedBus(reads: [SensirionCRC.encode([0x801E]), SensirionCRC.encode([0xFFFF])])
        let scd = SCD4x(bus: bus, clock: VirtualClock())
        #expect(try await scd.performForcedRecalibration(referencePPM: 420) == 30)
        #expect(bus.writes == [[0x36, 0x2F, 0x01, 0xA4, SensirionCRC.crc(420)]])
        #expect(await expectSensorError(.deviceFault) { _ = try await scd.performForcedRecalibration(referencePPM: 420) })
    }

    // MARK: Against the emulator

    @Test func periodicMeasurementAgainstEmulator() async throws {
        var air = AirState()
        air.co2 = 812
        air.temperature = 23.4
        air.humidity = 51.2
        let (bus, clock) = simulatedBus([{ SCD4xEmulator() }], air: air)
        let scd = SCD4x(bus: bus, clock: clock)
        #expect(try await scd.serialNumber() == 0x1A2B_3C4D_5E6F)
        #expect(try await scd.variant() == .scd41)
        try await scd.setTemperatureOffset(4)
        try await scd.setAltitude(420)
        #expect(try await scd.altitude() == 420)
        try await scd.startPeriodicMeasurement()
        #expect(try await scd.dataReady() == false)
        // Configuration is refused while measuring periodically.
        #expect(await expectSensorError(.notResponding) { try await scd.setAltitude(10) })
        clock.advance(by: .seconds(5))
        #expect(try await scd.dataReady())
        let measurement = try await scd.readMeasurement()
        #expect(measurement.co2 == 812)
        #expect(abs(measurement.temperature - 23.4) < 0.01)
        #expect(abs(measurement.humidity - 51.2) < 0.01)
        // The buffer empties on read: another read NACKs until the next period.
        #expect(try await scd.dataReady() == false)
        #expect(await expectSensorError(.notResponding) { _ = try await scd.readMeasurement() })
        try await scd.setAmbientPressure(hectopascal: 987)
        #expect(bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.ambientPressure } == 987)
    }

    @Test func readTooEarlyNACKs() throws {
        let (bus, clock) = simulatedBus([{ SCD4xEmulator() }])
        try bus.write([0x36, 0x82], to: 0x62)
        #expect(throws: I2CError.self) { _ = try bus.read(count: 9, from: 0x62) }
        // The failed read consumed nothing: after the execution time the response is there.
        clock.advance(by: .milliseconds(1))
        #expect(try bus.read(count: 9, from: 0x62).count == 9)
    }

    @Test func forcedRecalibrationAgainstEmulator() async throws {
        var air = AirState()
        air.co2 = 450
        let (bus, clock) = simulatedBus([{ SCD4xEmulator() }], air: air)
        bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.co2Bias = 35 }
        let scd = SCD4x(bus: bus, clock: clock)
        try await scd.startPeriodicMeasurement()
        await clock.sleep(for: .seconds(5))
        #expect(try await scd.readMeasurement().co2 == 485)
        try await scd.stopPeriodicMeasurement()
        #expect(try await scd.performForcedRecalibration(referencePPM: 450) == -35)
        try await scd.startPeriodicMeasurement()
        await clock.sleep(for: .seconds(5))
        #expect(try await scd.readMeasurement().co2 == 450)
        #expect(bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.persistCount } == 0)
    }

    @Test func injectedFaults() async throws {
        let (bus, clock) = simulatedBus([{ SCD4xEmulator() }])
        let scd = SCD4x(bus: bus, clock: clock)
        try await scd.startPeriodicMeasurement()
        await clock.sleep(for: .seconds(5))

        bus.inject(.badCRC(count: 1), at: 0x62)
        #expect(await expectSensorError(.crc) { _ = try await scd.dataReady() })
        #expect(try await scd.dataReady())

        bus.inject(.nackBurst(count: 2), at: 0x62)
        #expect(await expectSensorError(.notResponding) { _ = try await scd.dataReady() })
        #expect(await expectSensorError(.notResponding) { _ = try await scd.dataReady() })
        #expect(try await scd.dataReady())

        bus.inject(.dataReadyStuck(true), at: 0x62)
        #expect(try await scd.dataReady() == false)
        bus.inject(.dataReadyStuck(false), at: 0x62)
        #expect(try await scd.dataReady())

        bus.inject(.gone, at: 0x62)
        #expect(await expectSensorError(.notResponding) { _ = try await scd.readMeasurement() })
        bus.inject(.back, at: 0x62)
        // Back from power-on: idle again, so it answers idle-only commands.
        #expect(try await scd.serialNumber() == 0x1A2B_3C4D_5E6F)
        #expect(bus.withChip(SCD4xEmulator.self, at: 0x62) { $0.periodic } == false)
    }
}

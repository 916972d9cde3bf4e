import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct SPS30Tests {
    @Test func startFrameAndFloatDecodingFromDatasheet() async throws {
        // PM values 12.5 (0x41480000) each, number concentrations 1.0 (0x3F800000), size 0.5 (0x3F000000).
        var words: [UInt16] = []
        for _ in 0..<4 { words += [0x4148, 0x0000] }
        for _ in 0..<5 { words += [0x3F80, 0x0000] }
        words += [0x3F00, 0x0000]
        let bus = ScriptedBus(reads: [SensirionCRC.encode(words)])
        let sps = SPS30(bus: bus, clock: VirtualClock())
        try await sps.startMeasurement()
        let measurement = try await sps.readMeasurement()
        #expect(bus.writes == [[0x00, 0x10, 0x03, 0x00, 0xAC], [0x03, 0x00]])
        #expect(measurement.mass == [12.5, 12.5, 12.5, 12.5])
        #expect(measurement.number == [1, 1, 1, 1, 1])
        #expect(measurement.typicalParticleSize == 0.5)
    }

    @Test func rejectsNaN() async {
        let words = [UInt16](repeating: 0x7FC0, count: 20)  // NaN floats
        let bus = ScriptedBus(reads: [SensirionCRC.encode(words)])
        #expect(await expectSensorError(.implausible) { _ = try await SPS30(bus: bus, clock: VirtualClock()).readMeasurement() })
    }

    @Test func measurementAgainstEmulator() async throws {
        var air = AirState()
        air.particleMass = [3, 5.5, 6, 6.25]
        let (bus, clock) = simulatedBus([{ SPS30Emulator() }], air: air)
        let sps = SPS30(bus: bus, clock: clock)
        #expect(try await sps.productType() == "00080000")
        #expect(try await sps.serialNumber() == "9B3C1F2E4A5D6C7B")
        try await sps.setAutoCleaningInterval(seconds: 345_600)
        #expect(try await sps.autoCleaningInterval() == 345_600)
        try await sps.startMeasurement()
        #expect(try await sps.dataReady() == false)
        clock.advance(by: .seconds(1))
        #expect(try await sps.dataReady())
        let measurement = try await sps.readMeasurement()
        #expect(measurement.mass == [3, 5.5, 6, 6.25])
        #expect(try await sps.dataReady() == false)
        try await sps.startFanCleaning()
        #expect(bus.withChip(SPS30Emulator.self, at: 0x69) { $0.fanCleanings } == 1)
    }

    @Test func faults() async throws {
        let (bus, clock) = simulatedBus([{ SPS30Emulator() }])
        let sps = SPS30(bus: bus, clock: clock)
        try await sps.startMeasurement()
        clock.advance(by: .seconds(1))
        #expect(try await sps.deviceStatus().isEmpty)
        bus.inject(.fanError(true), at: 0x69)
        #expect(try await sps.deviceStatus().contains(.fanError))
        bus.inject(.fanError(false), at: 0x69)
        try await sps.clearDeviceStatus()
        #expect(try await sps.deviceStatus().isEmpty)
        bus.inject(.dataReadyStuck(true), at: 0x69)
        clock.advance(by: .seconds(1))
        #expect(try await sps.dataReady() == false)
        bus.inject(.badCRC(count: 1), at: 0x69)
        bus.inject(.dataReadyStuck(false), at: 0x69)
        #expect(await expectSensorError(.crc) { _ = try await sps.readMeasurement() })
        bus.inject(.nackBurst(count: 2), at: 0x69)
        #expect(await expectSensorError(.notResponding) { _ = try await sps.deviceStatus() })
        #expect(await expectSensorError(.notResponding) { _ = try await sps.deviceStatus() })
        #expect(try await sps.deviceStatus().isEmpty)
        bus.inject(.gone, at: 0x69)
        #expect(await expectSensorError(.notResponding) { _ = try await sps.dataReady() })
        bus.inject(.back, at: 0x69)
        // Power-on: idle, so measurement commands are refused until started again.
        #expect(await expectSensorError(.notResponding) { _ = try await sps.dataReady() })
        try await sps.startMeasurement()
        #expect(try await sps.dataReady() == false)
    }
}

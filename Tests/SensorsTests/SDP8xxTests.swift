import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct SDP8xxTests {
    @Test func decodeFromDatasheetFrame() throws {
        // DP raw 0x0A8C = 2700 / scale 60 = 45 Pa; T raw 0x1194 = 4500 / 200 = 22.5 degC; scale 0x003C = 60.
        let bus = ScriptedBus(reads: [[0x0A, 0x8C, SensirionCRC.crc(0x0A8C), 0x11, 0x94, SensirionCRC.crc(0x1194), 0x00, 0x3C, SensirionCRC.crc(0x003C)]])
        let measurement = try SDP8xx(bus: bus, clock: VirtualClock()).readMeasurement()
        #expect(measurement.differentialPressure == 45 && measurement.temperature == 22.5 && measurement.scaleFactor == 60)
        // Negative pressure is two's complement: 0xFF88 = -120 -> -2 Pa.
        #expect(try SDP8xx.decode([0xFF88, 0x1194, 60]).differentialPressure == -2)
        #expect(throws: SensorError.self) { try SDP8xx.decode([0x0A8C, 0x1194, 0]) }
    }

    @Test func againstEmulator() async throws {
        var air = AirState()
        air.differentialPressure = 87.25
        air.temperature = 24
        let (bus, clock) = simulatedBus([{ SDP8xxEmulator() }], air: air)
        let sdp = SDP8xx(bus: bus, clock: clock)
        let identity = try await sdp.identity()
        #expect(identity.model == "SDP810-500Pa")
        #expect(identity.serial == 0x1234_5678_9ABC)
        #expect(bus.writes(to: 0x25) == [[0x36, 0x7C], [0xE1, 0x02]])
        try bus.write([0x36, 0x15], to: 0x25)
        // The first value is not ready yet: NACK.
        #expect(throws: I2CError.self) { _ = try bus.read(count: 9, from: 0x25) }
        clock.advance(by: .milliseconds(8))
        let measurement = try sdp.readMeasurement()
        #expect(abs(measurement.differentialPressure - 87.25) < 1.0 / 60)
        #expect(measurement.temperature == 24)
        bus.inject(.badCRC(count: 1), at: 0x25)
        #expect(throws: SensorError.self) { try sdp.readMeasurement() }
        bus.inject(.nackBurst(count: 1), at: 0x25)
        #expect(throws: SensorError.self) { try sdp.readMeasurement() }
        #expect(abs(try sdp.readMeasurement().differentialPressure - 87.25) < 1.0 / 60)
        bus.inject(.gone, at: 0x25)
        #expect(throws: SensorError.self) { try sdp.readMeasurement() }
        bus.inject(.back, at: 0x25)
        // Power-on: not measuring, reads NACK until started again.
        #expect(throws: SensorError.self) { try sdp.readMeasurement() }
        try await sdp.startContinuous()
        #expect(abs(try sdp.readMeasurement().differentialPressure - 87.25) < 1.0 / 60)
    }
}

import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct SHT4xTests {
    @Test func decodeFromDatasheetFormulas() async throws {
        // t 0x6666 -> -45 + 175 * 26214 / 65535 = 25.0; rh 0x8000 -> -6 + 125 * 32768 / 65535 = 56.5.
        let bus = ScriptedBus(reads: [[0x66, 0x66, 0x93, 0x80, 0x00, 0xA2]])
        let measurement = try await SHT4x(bus: bus, clock: VirtualClock()).measure()
        #expect(bus.writes == [[0xFD]])
        #expect(abs(measurement.temperature - 25.0) < 0.01)
        #expect(abs(measurement.humidity - 56.5) < 0.01)
        // rh 0xFFFF -> 119 %: cropped to 100.
        #expect(SHT4x.decode([0x6666, 0xFFFF]).humidity == 100)
    }

    @Test func againstEmulator() async throws {
        var air = AirState()
        air.temperature = -3.25
        air.humidity = 88.5
        let (bus, clock) = simulatedBus([{ SHT4xEmulator() }], air: air)
        let sht = SHT4x(bus: bus, clock: clock)
        #expect(try await sht.serialNumber() == 0x0F1E_2D3C)
        let measurement = try await sht.measure()
        #expect(abs(measurement.temperature + 3.25) < 0.01)
        #expect(abs(measurement.humidity - 88.5) < 0.01)
        // Without the 8.3 ms wait the read NACKs.
        try bus.write([0xFD], to: 0x44)
        #expect(throws: I2CError.self) { _ = try bus.read(count: 6, from: 0x44) }
        clock.advance(by: .milliseconds(10))
        bus.inject(.badCRC(count: 1), at: 0x44)
        #expect(await expectSensorError(.crc) { _ = try await sht.measure() })
        bus.inject(.nackBurst(count: 1), at: 0x44)
        #expect(await expectSensorError(.notResponding) { _ = try await sht.measure() })
        bus.inject(.gone, at: 0x44)
        #expect(await expectSensorError(.notResponding) { _ = try await sht.measure() })
        bus.inject(.back, at: 0x44)
        #expect(abs(try await sht.measure().humidity - 88.5) < 0.01)
    }
}

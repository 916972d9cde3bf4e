import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct SGP41Tests {
    @Test func framesFromDatasheet() async throws {
        // measure_raw_signals uncompensated: 26 19 80 00 A2 66 66 93; reply SRAW_VOC 0xBEEF, SRAW_NOX 0x0000.
        let bus = ScriptedBus(reads: [[0xBE, 0xEF, 0x92, 0x00, 0x00, 0x81]])
        let sgp = SGP41(bus: bus, clock: VirtualClock())
        let raw = try await sgp.measureRawSignals(humidityTicks: 0x8000, temperatureTicks: 0x6666)
        #expect(bus.writes == [[0x26, 0x19, 0x80, 0x00, 0xA2, 0x66, 0x66, 0x93]])
        #expect(raw.voc == 0xBEEF && raw.nox == 0)
        // 50 %RH, 25 degC -> 0x8000, 0x6666 (the datasheet's default words).
        let ticks = SGP41.compensationTicks(humidity: 50, temperature: 25)
        #expect(ticks.humidity == 0x8000 && ticks.temperature == 0x6666)
    }

    @Test func againstEmulator() async throws {
        var air = AirState()
        air.vocRaw = 29_500
        air.noxRaw = 15_800
        let (bus, clock) = simulatedBus([{ SGP41Emulator() }], air: air)
        let sgp = SGP41(bus: bus, clock: clock)
        #expect(try await sgp.serialNumber() == 0x0A1B_2C3D)
        #expect(try await sgp.selfTest())
        let ticks = SGP41.compensationTicks(humidity: 40, temperature: 21)
        #expect(try await sgp.executeConditioning(humidityTicks: ticks.humidity, temperatureTicks: ticks.temperature) == 29_500)
        let raw = try await sgp.measureRawSignals(humidityTicks: ticks.humidity, temperatureTicks: ticks.temperature)
        #expect(raw.voc == 29_500 && raw.nox == 15_800)
        #expect(bus.withChip(SGP41Emulator.self, at: 0x59) { $0.lastCompensation } == [ticks.humidity, ticks.temperature])
        bus.inject(.badCRC(count: 1), at: 0x59)
        #expect(await expectSensorError(.crc) { _ = try await sgp.measureRawSignals(humidityTicks: 0x8000, temperatureTicks: 0x6666) })
        bus.inject(.nackBurst(count: 1), at: 0x59)
        #expect(await expectSensorError(.notResponding) { _ = try await sgp.measureRawSignals(humidityTicks: 0x8000, temperatureTicks: 0x6666) })
        bus.inject(.gone, at: 0x59)
        #expect(await expectSensorError(.notResponding) { _ = try await sgp.serialNumber() })
        bus.inject(.back, at: 0x59)
        #expect(try await sgp.serialNumber() == 0x0A1B_2C3D)
    }
}

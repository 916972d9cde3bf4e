import I2C
import SensorEmulators
import Sensors
import Testing

@Suite struct BME280Tests {
    /// The BMP280 datasheet's worked trimming example (T, P) with typical BME280 humidity trimming.
    static let calibration = BME280.Calibration(
        t1: 27504, t2: 26435, t3: -1000, p1: 36477, p2: -10685, p3: 3024, p4: 2855, p5: 140, p6: -7, p7: 15500, p8: -14600, p9: 6000,
        h1: 75, h2: 362, h3: 0, h4: 313, h5: 50, h6: 30)

    /// (adc_T, adc_P, adc_H) -> (0.01 degC, 0.01 Pa, 1/1024 %RH), computed by Bosch's BME280_driver
    /// (commit c90d419, bme280_compensate_data with BME280_64BIT_ENABLE). The first row is the datasheet
    /// example: 25.08 degC and 100653.27 Pa.
    static let boschVectors: [(Int32, Int32, Int32, Int32, UInt32, UInt32)] = [
        (519888, 415148, 30000, 2508, 10065328, 56317),
        (500000, 400000, 25000, 1885, 10228398, 27895),
        (540000, 430000, 36000, 3138, 9903515, 91013),
        (480000, 380000, 20000, 1257, 10468196, 33),
        (510000, 420000, 32000, 2198, 9934332, 67494),
        (450000, 350000, 40000, 313, 10815828, 102400),
    ]

    @Test func integerCompensationMatchesBosch() {
        for (t, p, h, celsius, pascal, humidity) in Self.boschVectors {
            let result = BME280.compensate(BME280.Raw(temperature: t, pressure: p, humidity: h), Self.calibration)
            #expect(result.centidegrees == celsius, "adc_T \(t)")
            #expect(result.centipascal == pascal, "adc_P \(p)")
            #expect(result.humidity1024 == humidity, "adc_H \(h)")
        }
    }

    @Test func parsesCalibrationAndBurstBytes() throws {
        // 0x88 block little-endian, H1 at byte 25; 0xE1 block with H4/H5 sharing byte 0xE5.
        var block1: [UInt8] = []
        for value: Int in [27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000] {
            let word = UInt16(truncatingIfNeeded: value)
            block1 += [UInt8(word & 0xFF), UInt8(word >> 8)]
        }
        block1 += [0x00, 75]
        let block2: [UInt8] = [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E]  // H2 362, H3 0, H4 0x139 = 313, H5 0x032 = 50, H6 30
        #expect(try BME280.Calibration(block1: block1, block2: block2) == Self.calibration)
        // adc_P 415148 = 0x655AC, adc_T 519888 = 0x7EED0, adc_H 30000 = 0x7530.
        #expect(BME280.Raw(burst: [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30]) == BME280.Raw(temperature: 519888, pressure: 415148, humidity: 30000))
        #expect(throws: SensorError.self) { try BME280.Calibration(block1: [UInt8](repeating: 0xFF, count: 26), block2: block2) }
    }

    @Test func againstEmulatorWithSMBusOnly() async throws {
        var air = AirState()
        air.temperature = 19.5
        air.pressure = 963.2
        air.humidity = 61.0
        let (bus, clock) = simulatedBus([{ BME280Emulator() }], air: air)
        let bme = BME280(bus: bus, clock: clock)
        #expect(try bme.readChipID() == 0x60)
        try await bme.softReset()
        let calibration = try bme.readCalibration()
        #expect(calibration == Self.calibration)
        let measurement = try await bme.measure(calibration: calibration)
        #expect(abs(measurement.temperature - 19.5) < 0.02)
        #expect(abs(measurement.pressureHectopascal - 963.2) < 0.02)
        #expect(abs(measurement.humidity - 61.0) < 0.1)
        // Only SMBus register frames went out: (register) for block reads, (register, value) for byte writes.
        #expect(bus.writes(to: 0x76).allSatisfy { $0.count <= 2 })
    }

    @Test func faults() async throws {
        let (bus, clock) = simulatedBus([{ BME280Emulator() }])
        let bme = BME280(bus: bus, clock: clock)
        let calibration = try bme.readCalibration()
        // A burst still holding the reset values (no conversion happened) is rejected, not published.
        let scripted = ScriptedBus(reads: [[0x00], [0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00]])
        #expect(await expectSensorError(.implausible) { _ = try await BME280(bus: scripted, clock: clock).measure(calibration: calibration) })
        #expect(scripted.writes == [[0xF2, 0x01], [0xF4, 0x25], [0xF3], [0xF7]])
        // No CRC on this chip: a corrupted trimming byte is caught by reading the trimming data until two reads agree.
        bus.inject(.badCRC(count: 1), at: 0x76)
        #expect(try bme.readCalibration() == Self.calibration)
        bus.inject(.nackBurst(count: 1), at: 0x76)
        #expect(await expectSensorError(.notResponding) { _ = try await bme.measure(calibration: calibration) })
        bus.inject(.gone, at: 0x76)
        #expect(await expectSensorError(.notResponding) { _ = try bme.readChipID() })
        bus.inject(.back, at: 0x76)
        #expect(try bme.readChipID() == 0x60)
    }
}

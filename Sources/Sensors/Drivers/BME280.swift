import I2C

/// Bosch BME280 pressure, temperature and humidity sensor at 0x76 or 0x77, driven only through SMBus
/// register calls (read-I2C-block and write-byte), so it also works on SMBus-only adapters such as i2c-stub.
/// Forced mode: each `measure` triggers one conversion at 1x oversampling, then reads the burst 0xF7...0xFE.
public struct BME280: Sendable {
    public static let defaultAddress: I2CAddress = 0x76
    public static let chipID: UInt8 = 0x60

    public enum Register {
        public static let calibration1: UInt8 = 0x88  // 26 bytes: T1...P9, H1 at 0xA1
        public static let chipID: UInt8 = 0xD0
        public static let reset: UInt8 = 0xE0
        public static let calibration2: UInt8 = 0xE1  // 7 bytes: H2...H6
        public static let ctrlHum: UInt8 = 0xF2
        public static let status: UInt8 = 0xF3
        public static let ctrlMeas: UInt8 = 0xF4
        public static let config: UInt8 = 0xF5
        public static let data: UInt8 = 0xF7  // 8 bytes: press, temp, hum
    }

    /// Factory trimming parameters (datasheet table 16).
    public struct Calibration: Sendable, Equatable {
        public var t1: UInt16, t2: Int16, t3: Int16
        public var p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16, p8: Int16, p9: Int16
        public var h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8

        public init(t1: UInt16, t2: Int16, t3: Int16, p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16,
                    p7: Int16, p8: Int16, p9: Int16, h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8) {
            (self.t1, self.t2, self.t3) = (t1, t2, t3)
            (self.p1, self.p2, self.p3, self.p4, self.p5, self.p6, self.p7, self.p8, self.p9) = (p1, p2, p3, p4, p5, p6, p7, p8, p9)
            (self.h1, self.h2, self.h3, self.h4, self.h5, self.h6) = (h1, h2, h3, h4, h5, h6)
        }

        /// Parses the 26 bytes at 0x88 and the 7 bytes at 0xE1 (little-endian words; H4/H5 share a nibble).
        public init(block1 b: [UInt8], block2 h: [UInt8]) throws(SensorError) {
            guard b.count == 26, h.count == 7 else { throw SensorError(.malformed, "bme280 calibration: \(b.count)+\(h.count) bytes, expected 26+7") }
            func u16(_ i: Int) -> UInt16 { UInt16(b[i + 1]) << 8 | UInt16(b[i]) }
            func s16(_ i: Int) -> Int16 { Int16(bitPattern: u16(i)) }
            self.init(
                t1: u16(0), t2: s16(2), t3: s16(4),
                p1: u16(6), p2: s16(8), p3: s16(10), p4: s16(12), p5: s16(14), p6: s16(16), p7: s16(18), p8: s16(20), p9: s16(22),
                h1: b[25], h2: Int16(bitPattern: UInt16(h[1]) << 8 | UInt16(h[0])), h3: h[2],
                h4: Int16(Int8(bitPattern: h[3])) * 16 | Int16(h[4] & 0x0F),
                h5: Int16(Int8(bitPattern: h[5])) * 16 | Int16(h[4] >> 4),
                h6: Int8(bitPattern: h[6]))
            // Erased or absent trimming (all 0x00 or 0xFF) would divide by zero in the pressure formula.
            guard t1 != 0, t1 != 0xFFFF, p1 != 0, p1 != 0xFFFF else { throw SensorError(.malformed, "bme280 calibration: blank trimming data") }
        }
    }

    /// Raw ADC values from the data burst.
    public struct Raw: Sendable, Equatable {
        public var temperature: Int32, pressure: Int32, humidity: Int32

        public init(temperature: Int32, pressure: Int32, humidity: Int32) {
            (self.temperature, self.pressure, self.humidity) = (temperature, pressure, humidity)
        }

        /// P = b0 << 12 | b1 << 4 | b2 >> 4; T likewise on b3...b5; H = b6 << 8 | b7.
        public init(burst d: [UInt8]) {
            pressure = Int32(d[0]) << 12 | Int32(d[1]) << 4 | Int32(d[2]) >> 4
            temperature = Int32(d[3]) << 12 | Int32(d[4]) << 4 | Int32(d[5]) >> 4
            humidity = Int32(d[6]) << 8 | Int32(d[7])
        }
    }

    /// A compensated measurement in Bosch's integer units.
    public struct Measurement: Sendable, Equatable {
        /// 0.01 degC.
        public var centidegrees: Int32
        /// 0.01 Pa (64-bit path).
        public var centipascal: UInt32
        /// 1/1024 %RH.
        public var humidity1024: UInt32

        public var temperature: Double { Double(centidegrees) / 100 }
        public var pressureHectopascal: Double { Double(centipascal) / 10_000 }
        public var humidity: Double { Double(humidity1024) / 1024 }
    }

    public let bus: any I2CBus
    public let address: I2CAddress
    public let clock: any SensorClock

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        self.bus = bus
        self.address = address
        self.clock = clock
    }

    private func read(_ register: UInt8, _ count: Int, _ operation: String) throws(SensorError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try bus.smbusReadBlock(register: register, count: count, address: address)
        } catch {
            throw SensorError(error, during: "bme280 \(operation)")
        }
        guard bytes.count == count else { throw SensorError(.malformed, "bme280 \(operation): \(bytes.count) bytes, expected \(count)") }
        return bytes
    }

    private func write(_ register: UInt8, _ value: UInt8, _ operation: String) throws(SensorError) {
        do {
            try bus.smbusWriteByte(register: register, value: value, address: address)
        } catch {
            throw SensorError(error, during: "bme280 \(operation)")
        }
    }

    /// The chip id register: 0x60 for a BME280 (0x58 is a BMP280, which has no humidity).
    public func readChipID() throws(SensorError) -> UInt8 {
        try read(Register.chipID, 1, "read chip id")[0]
    }

    /// Soft reset, then waits for the trimming data to be copied (status bit 0), polling every 2 ms up to 5 times.
    public func softReset() async throws(SensorError) {
        try write(Register.reset, 0xB6, "soft reset")
        for _ in 0..<5 {
            await clock.sleep(for: .milliseconds(2))
            if try read(Register.status, 1, "read status")[0] & 0x01 == 0 { return }
        }
        throw SensorError(.deviceFault, "bme280 soft reset: NVM copy did not finish")
    }

    /// Reads the trimming data until two reads agree (at most 3): the BME280 bus protocol has no CRC, and a
    /// corrupted trimming byte would skew every later value without looking implausible.
    public func readCalibration() throws(SensorError) -> Calibration {
        var previous: [UInt8]?
        for _ in 0..<3 {
            let bytes = try read(Register.calibration1, 26, "read calibration") + read(Register.calibration2, 7, "read calibration")
            if bytes == previous {
                return try Calibration(block1: Array(bytes[0..<26]), block2: Array(bytes[26...]))
            }
            previous = bytes
        }
        throw SensorError(.malformed, "bme280 read calibration: trimming data differs between reads")
    }

    /// A forced conversion at 1x oversampling for T, P and H: 1250 + 2300 + 2875 + 2875 us.
    public static let conversionTime: Duration = .microseconds(9_300)

    /// Triggers one forced conversion (1x oversampling for T, P, H; filter off) and reads the result.
    public func measure(calibration: Calibration) async throws(SensorError) -> Measurement {
        try startForcedMeasurement()
        await clock.sleep(for: Self.conversionTime)
        return try await readMeasurement(calibration: calibration)
    }

    /// Triggers one forced conversion; the chip then returns to sleep mode and keeps the result in its data
    /// registers until the next conversion.
    public func startForcedMeasurement() throws(SensorError) {
        // ctrl_hum takes effect only after the following write to ctrl_meas.
        try write(Register.ctrlHum, 0x01, "write ctrl_hum")
        try write(Register.ctrlMeas, 0b001_001_01, "write ctrl_meas")
    }

    /// Reads the result of the last conversion, at least `conversionTime` after it was triggered (while the
    /// status register says it is still measuring, polls every 2 ms up to 5 times).
    public func readMeasurement(calibration: Calibration) async throws(SensorError) -> Measurement {
        for _ in 0..<5 {
            if try read(Register.status, 1, "read status")[0] & 0x08 == 0 { break }
            await clock.sleep(for: .milliseconds(2))
        }
        let raw = Raw(burst: try read(Register.data, 8, "read data"))
        // 0x80000 / 0x8000 are what the chip reports for a skipped measurement.
        guard raw.temperature != 0x80000, raw.pressure != 0x80000, raw.humidity != 0x8000 else {
            throw SensorError(.implausible, "bme280 read data: measurement skipped (reset values)")
        }
        // All-zero registers (an unconfigured register file, a stuck bus) are not a measurement either.
        guard raw.temperature != 0, raw.pressure != 0 else {
            throw SensorError(.implausible, "bme280 read data: zero ADC values")
        }
        let measurement = Self.compensate(raw, calibration)
        // Bosch's code clamps out-of-range results to its limits: a clamped value is not a measurement.
        guard (-3999...8499).contains(measurement.centidegrees), (3_000_001...10_999_999).contains(measurement.centipascal) else {
            throw SensorError(.implausible, "bme280 read data: compensated values at the sensor's limits")
        }
        return measurement
    }

    // MARK: - Bosch integer compensation (BME280_driver, 64-bit pressure path; `/` truncates like C).
    // Wrapping operators: garbage trimming data must not trap (C wraps on these targets too).

    public static func compensate(_ raw: Raw, _ c: Calibration) -> Measurement {
        let tFine = temperatureFine(raw.temperature, c)
        var temperature = (tFine &* 5 &+ 128) / 256
        temperature = min(max(temperature, -4000), 8500)
        return Measurement(centidegrees: temperature, centipascal: pressure(raw.pressure, tFine, c), humidity1024: humidity(raw.humidity, tFine, c))
    }

    static func temperatureFine(_ adc: Int32, _ c: Calibration) -> Int32 {
        var var1 = adc / 8 &- Int32(c.t1) &* 2
        var1 = var1 &* Int32(c.t2) / 2048
        var var2 = adc / 16 &- Int32(c.t1)
        var2 = var2 &* var2 / 4096 &* Int32(c.t3) / 16384
        return var1 &+ var2
    }

    static func pressure(_ adc: Int32, _ tFine: Int32, _ c: Calibration) -> UInt32 {
        var var1 = Int64(tFine) &- 128_000
        var var2 = var1 &* var1 &* Int64(c.p6)
        var2 = var2 &+ var1 &* Int64(c.p5) &* 131_072
        var2 = var2 &+ Int64(c.p4) &* 34_359_738_368
        var1 = var1 &* var1 &* Int64(c.p3) / 256 &+ var1 &* Int64(c.p2) &* 4096
        var1 = (140_737_488_355_328 &+ var1) &* Int64(c.p1) / 8_589_934_592
        guard var1 != 0 else { return 3_000_000 }
        var var4 = 1_048_576 &- Int64(adc)
        var4 = (var4 &* 2_147_483_648 &- var2) &* 3125 / var1
        let var5 = Int64(c.p9) &* (var4 / 8192) &* (var4 / 8192) / 33_554_432
        let var6 = Int64(c.p8) &* var4 / 524_288
        var4 = (var4 &+ var5 &+ var6) / 256 &+ Int64(c.p7) &* 16
        let pressure = var4 / 2 &* 100 / 128
        return UInt32(min(max(pressure, 3_000_000), 11_000_000))
    }

    static func humidity(_ adc: Int32, _ tFine: Int32, _ c: Calibration) -> UInt32 {
        let var1 = tFine &- 76_800
        var var2 = adc &* 16_384
        var var3 = Int32(c.h4) &* 1_048_576
        var var4 = Int32(c.h5) &* var1
        var var5 = (var2 &- var3 &- var4 &+ 16_384) / 32_768
        var2 = var1 &* Int32(c.h6) / 1024
        var3 = var1 &* Int32(c.h3) / 2048
        var4 = var2 &* (var3 &+ 32_768) / 1024 &+ 2_097_152
        var2 = (var4 &* Int32(c.h2) &+ 8192) / 16_384
        var3 = var5 &* var2
        var4 = (var3 / 32_768) &* (var3 / 32_768) / 128
        var5 = var3 &- var4 &* Int32(c.h1) / 16
        var5 = min(max(var5, 0), 419_430_400)
        return min(UInt32(var5 / 4096), 102_400)
    }
}

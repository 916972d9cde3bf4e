import I2C

/// Sensirion SHT40/41/45 temperature and humidity sensor, address 0x44 (or 0x45), one-byte commands.
public struct SHT4x: Sendable {
    public static let defaultAddress: I2CAddress = 0x44

    public enum Command {
        public static let measureHighPrecision: UInt8 = 0xFD
        public static let measureMediumPrecision: UInt8 = 0xF6
        public static let measureLowPrecision: UInt8 = 0xE0
        public static let readSerialNumber: UInt8 = 0x89
        public static let softReset: UInt8 = 0x94
    }

    public struct Measurement: Sendable, Equatable {
        public var temperature: Double
        public var humidity: Double
    }

    public let wire: SensirionTransport

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        wire = SensirionTransport(bus: bus, address: address, clock: clock, chip: "sht4x")
    }

    /// A high-precision measurement takes 8.3 ms at most; we wait 10 ms.
    public static let conversionTime: Duration = .milliseconds(10)

    /// A high-precision measurement: `startMeasurement`, `conversionTime`, `readMeasurement`.
    public func measure() async throws(SensorError) -> Measurement {
        try Self.decode(await wire.query(bytes: [Command.measureHighPrecision], wait: Self.conversionTime, words: 2, "measure_high_precision"))
    }

    /// Starts a high-precision measurement; its result stays in the chip until read (or until the next command).
    public func startMeasurement() throws(SensorError) {
        try wire.write([Command.measureHighPrecision], "measure_high_precision")
    }

    /// Reads the result of `startMeasurement`, at least `conversionTime` later (the chip NACKs before).
    public func readMeasurement() throws(SensorError) -> Measurement {
        try Self.decode(wire.readWords(2, "measure_high_precision"))
    }

    /// T = -45 + 175 * t / 65535; RH = -6 + 125 * rh / 65535, cropped to 0...100 as the datasheet recommends.
    public static func decode(_ words: [UInt16]) -> Measurement {
        let humidity = -6 + 125 * Double(words[1]) / 65535
        return Measurement(temperature: -45 + 175 * Double(words[0]) / 65535, humidity: min(max(humidity, 0), 100))
    }

    public func serialNumber() async throws(SensorError) -> UInt32 {
        let words = try await wire.query(bytes: [Command.readSerialNumber], wait: .milliseconds(10), words: 2, "read_serial_number")
        return UInt32(words[0]) << 16 | UInt32(words[1])
    }

    public func softReset() async throws(SensorError) {
        try wire.write([Command.softReset], "soft_reset")
        await wire.clock.sleep(for: .milliseconds(10))
    }
}

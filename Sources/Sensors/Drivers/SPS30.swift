import Foundation
import I2C

/// Sensirion SPS30 particulate matter sensor, address 0x69, driven in IEEE754 float mode.
public struct SPS30: Sendable {
    public static let defaultAddress: I2CAddress = 0x69

    /// Command codes (SPS30 datasheet, I2C section).
    public enum Command {
        public static let startMeasurement: UInt16 = 0x0010
        public static let stopMeasurement: UInt16 = 0x0104
        public static let readDataReadyFlag: UInt16 = 0x0202
        public static let readMeasuredValues: UInt16 = 0x0300
        public static let autoCleaningInterval: UInt16 = 0x8004
        public static let startFanCleaning: UInt16 = 0x5607
        public static let readProductType: UInt16 = 0xD002
        public static let readSerialNumber: UInt16 = 0xD033
        public static let readFirmwareVersion: UInt16 = 0xD100
        public static let readDeviceStatus: UInt16 = 0xD206
        public static let clearDeviceStatus: UInt16 = 0xD210
        public static let reset: UInt16 = 0xD304
        /// Argument of start_measurement selecting big-endian IEEE754 floats.
        public static let floatFormat: UInt16 = 0x0300
    }

    /// The device status register (read_device_status_register).
    public struct Status: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Fan switched on but measured speed 0 RPM.
        public static let fanError = Status(rawValue: 1 << 4)
        /// Laser current out of range.
        public static let laserError = Status(rawValue: 1 << 5)
        /// Fan speed out of range (temporarily, e.g. during cleaning or a blocked inlet).
        public static let fanSpeedWarning = Status(rawValue: 1 << 21)
    }

    /// One measurement in float mode.
    public struct Measurement: Sendable, Equatable {
        /// PM1.0, PM2.5, PM4.0, PM10 in ug/m3.
        public var mass: [Double]
        /// NC0.5, NC1.0, NC2.5, NC4.0, NC10 in #/cm3.
        public var number: [Double]
        /// Typical particle size in um.
        public var typicalParticleSize: Double
    }

    public let wire: SensirionTransport

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        wire = SensirionTransport(bus: bus, address: address, clock: clock, chip: "sps30")
    }

    /// Starts measurement in float mode (frame `00 10 03 00 AC`); the fan spins up and values follow every second.
    public func startMeasurement() async throws(SensorError) {
        try await wire.send(Command.startMeasurement, with: [Command.floatFormat], wait: .milliseconds(20), "start_measurement")
    }

    public func stopMeasurement() async throws(SensorError) {
        try await wire.send(Command.stopMeasurement, wait: .milliseconds(20), "stop_measurement")
    }

    public func dataReady() async throws(SensorError) -> Bool {
        try await wire.query(Command.readDataReadyFlag, wait: .zero, words: 1, "read_data_ready_flag")[0] & 0x00FF == 1
    }

    public func readMeasurement() async throws(SensorError) -> Measurement {
        let words = try await wire.query(Command.readMeasuredValues, wait: .zero, words: 20, "read_measured_values")
        return try Self.decodeMeasurement(words)
    }

    /// Ten big-endian floats, two words each; NaN or infinity is garbage, not a reading.
    public static func decodeMeasurement(_ words: [UInt16]) throws(SensorError) -> Measurement {
        var values: [Double] = []
        for index in stride(from: 0, to: 20, by: 2) {
            let value = Double(Float(bitPattern: UInt32(words[index]) << 16 | UInt32(words[index + 1])))
            guard value.isFinite, value >= 0 else {
                throw SensorError(.implausible, "sps30 read_measured_values: value \(index / 2) is \(value)")
            }
            values.append(value)
        }
        return Measurement(mass: Array(values[0..<4]), number: Array(values[4..<9]), typicalParticleSize: values[9])
    }

    public func deviceStatus() async throws(SensorError) -> Status {
        let words = try await wire.query(Command.readDeviceStatus, wait: .zero, words: 2, "read_device_status_register")
        return Status(rawValue: UInt32(words[0]) << 16 | UInt32(words[1]))
    }

    public func clearDeviceStatus() async throws(SensorError) {
        try await wire.send(Command.clearDeviceStatus, wait: .milliseconds(5), "clear_device_status_register")
    }

    /// The automatic fan-cleaning interval in seconds (0 = off).
    public func autoCleaningInterval() async throws(SensorError) -> UInt32 {
        let words = try await wire.query(Command.autoCleaningInterval, wait: .milliseconds(5), words: 2, "read_auto_cleaning_interval")
        return UInt32(words[0]) << 16 | UInt32(words[1])
    }

    public func setAutoCleaningInterval(seconds: UInt32) async throws(SensorError) {
        try await wire.send(Command.autoCleaningInterval, with: [UInt16(seconds >> 16), UInt16(seconds & 0xFFFF)],
                            wait: .milliseconds(20), "write_auto_cleaning_interval")
    }

    /// Fan cleaning (only in measurement mode): the fan runs at full speed for about 10 s.
    public func startFanCleaning() async throws(SensorError) {
        try await wire.send(Command.startFanCleaning, wait: .milliseconds(5), "start_fan_cleaning")
    }

    /// The serial number: up to 32 ASCII characters, NUL-terminated.
    public func serialNumber() async throws(SensorError) -> String {
        try Self.ascii(await wire.query(Command.readSerialNumber, wait: .zero, words: 16, "read_serial_number"), "read_serial_number")
    }

    /// The product type, "00080000" for the SPS30.
    public func productType() async throws(SensorError) -> String {
        try Self.ascii(await wire.query(Command.readProductType, wait: .zero, words: 4, "read_product_type"), "read_product_type")
    }

    public func reset() async throws(SensorError) {
        try await wire.send(Command.reset, wait: .milliseconds(100), "device_reset")
    }

    static func ascii(_ words: [UInt16], _ operation: String) throws(SensorError) -> String {
        var bytes: [UInt8] = []
        for word in words { bytes += [UInt8(word >> 8), UInt8(word & 0xFF)] }
        let text = bytes.prefix { $0 != 0 }
        guard text.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw SensorError(.malformed, "sps30 \(operation): not printable ASCII")
        }
        return String(decoding: text, as: UTF8.self)
    }
}

import I2C

/// Sensirion SCD40/SCD41 photoacoustic CO2 sensor (also T and RH), default address 0x62.
///
/// Periodic mode delivers a value every 5 s; most configuration commands work only while periodic
/// measurement is stopped, so configure first, then start. `persistSettings` writes EEPROM (rated for about
/// 2000 writes): callers must never call it in a loop.
public struct SCD4x: Sendable {
    public static let defaultAddress: I2CAddress = 0x62

    /// Command codes and execution times (SCD4x datasheet, table "I2C commands").
    public enum Command {
        public static let startPeriodicMeasurement: UInt16 = 0x21B1
        public static let readMeasurement: UInt16 = 0xEC05
        public static let stopPeriodicMeasurement: UInt16 = 0x3F86
        public static let getDataReadyStatus: UInt16 = 0xE4B8
        public static let setTemperatureOffset: UInt16 = 0x241D
        public static let getTemperatureOffset: UInt16 = 0x2318
        public static let setSensorAltitude: UInt16 = 0x2427
        public static let getSensorAltitude: UInt16 = 0x2322
        public static let setAmbientPressure: UInt16 = 0xE000
        public static let performForcedRecalibration: UInt16 = 0x362F
        public static let setAutomaticSelfCalibration: UInt16 = 0x2416
        public static let getAutomaticSelfCalibration: UInt16 = 0x2313
        public static let persistSettings: UInt16 = 0x3615
        public static let getSerialNumber: UInt16 = 0x3682
        public static let getSensorVariant: UInt16 = 0x202F
        public static let reinit: UInt16 = 0x3646
        public static let wakeUp: UInt16 = 0x36F6
    }

    public enum Variant: String, Sendable {
        case scd40, scd41, unknown
    }

    /// One periodic measurement.
    public struct Measurement: Sendable, Equatable {
        public var co2: Int
        public var temperature: Double
        public var humidity: Double
    }

    public let wire: SensirionTransport

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        wire = SensirionTransport(bus: bus, address: address, clock: clock, chip: "scd4x")
    }

    public func startPeriodicMeasurement() async throws(SensorError) {
        try await wire.send(Command.startPeriodicMeasurement, "start_periodic_measurement")
    }

    /// Stops periodic mode; the chip ignores commands for 500 ms afterwards.
    public func stopPeriodicMeasurement() async throws(SensorError) {
        try await wire.send(Command.stopPeriodicMeasurement, wait: .milliseconds(500), "stop_periodic_measurement")
    }

    public func dataReady() async throws(SensorError) -> Bool {
        let words = try await wire.query(Command.getDataReadyStatus, wait: .milliseconds(1), words: 1, "get_data_ready_status")
        // Datasheet: data is ready when any of the 11 least significant bits is set.
        return words[0] & 0x07FF != 0
    }

    /// Reads and empties the measurement buffer.
    public func readMeasurement() async throws(SensorError) -> Measurement {
        let words = try await wire.query(Command.readMeasurement, wait: .milliseconds(1), words: 3, "read_measurement")
        return try Self.decodeMeasurement(words)
    }

    /// CO2 in ppm as is; T = -45 + 175 * raw / 65535; RH = 100 * raw / 65535. CO2 0 means no valid value.
    public static func decodeMeasurement(_ words: [UInt16]) throws(SensorError) -> Measurement {
        let measurement = Measurement(
            co2: Int(words[0]),
            temperature: -45 + 175 * Double(words[1]) / 65535,
            humidity: 100 * Double(words[2]) / 65535)
        guard measurement.co2 > 0 else { throw SensorError(.implausible, "scd4x read_measurement: CO2 0 ppm") }
        return measurement
    }

    /// The 48-bit serial number.
    public func serialNumber() async throws(SensorError) -> UInt64 {
        let words = try await wire.query(Command.getSerialNumber, wait: .milliseconds(1), words: 3, "get_serial_number")
        return UInt64(words[0]) << 32 | UInt64(words[1]) << 16 | UInt64(words[2])
    }

    public func variant() async throws(SensorError) -> Variant {
        let words = try await wire.query(Command.getSensorVariant, wait: .milliseconds(1), words: 1, "get_sensor_variant")
        switch words[0] & 0xF000 {
        case 0x0000: return .scd40
        case 0x1000: return .scd41
        default: return .unknown
        }
    }

    /// Sets the temperature offset in degC (0...20): the self-heating of the sensor in its enclosure.
    public func setTemperatureOffset(_ degrees: Double) async throws(SensorError) {
        guard (0...20).contains(degrees) else { throw SensorError(.implausible, "scd4x temperature offset \(degrees) outside 0...20") }
        let raw = UInt16((degrees * 65535 / 175).rounded())
        try await wire.send(Command.setTemperatureOffset, with: [raw], wait: .milliseconds(1), "set_temperature_offset")
    }

    public func temperatureOffset() async throws(SensorError) -> Double {
        let words = try await wire.query(Command.getTemperatureOffset, wait: .milliseconds(1), words: 1, "get_temperature_offset")
        return Double(words[0]) * 175 / 65535
    }

    /// Altitude in metres above sea level (0...3000), for pressure compensation without a pressure sensor.
    public func setAltitude(_ metres: Int) async throws(SensorError) {
        guard (0...3000).contains(metres) else { throw SensorError(.implausible, "scd4x altitude \(metres) outside 0...3000") }
        try await wire.send(Command.setSensorAltitude, with: [UInt16(metres)], wait: .milliseconds(1), "set_sensor_altitude")
    }

    public func altitude() async throws(SensorError) -> Int {
        Int(try await wire.query(Command.getSensorAltitude, wait: .milliseconds(1), words: 1, "get_sensor_altitude")[0])
    }

    /// Ambient pressure compensation in hPa (700...1200); allowed during periodic measurement, overrides altitude.
    public func setAmbientPressure(hectopascal: Double) async throws(SensorError) {
        guard (700...1200).contains(hectopascal) else {
            throw SensorError(.implausible, "scd4x ambient pressure \(hectopascal) hPa outside 700...1200")
        }
        try await wire.send(Command.setAmbientPressure, with: [UInt16(hectopascal.rounded())], wait: .milliseconds(1), "set_ambient_pressure")
    }

    public func setAutomaticSelfCalibration(_ enabled: Bool) async throws(SensorError) {
        try await wire.send(Command.setAutomaticSelfCalibration, with: [enabled ? 1 : 0], wait: .milliseconds(1), "set_automatic_self_calibration_enabled")
    }

    public func automaticSelfCalibration() async throws(SensorError) -> Bool {
        try await wire.query(Command.getAutomaticSelfCalibration, wait: .milliseconds(1), words: 1, "get_automatic_self_calibration_enabled")[0] != 0
    }

    /// Forced recalibration to `referencePPM` (the sensor must have run in periodic mode for 3 minutes at that
    /// concentration and be stopped). Returns the correction in ppm.
    public func performForcedRecalibration(referencePPM: Int) async throws(SensorError) -> Int {
        guard (400...2000).contains(referencePPM) else {
            throw SensorError(.implausible, "scd4x forced recalibration reference \(referencePPM) ppm outside 400...2000")
        }
        let words = try await wire.query(Command.performForcedRecalibration, with: [UInt16(referencePPM)], wait: .milliseconds(400), words: 1,
                                         "perform_forced_recalibration")
        guard words[0] != 0xFFFF else { throw SensorError(.deviceFault, "scd4x perform_forced_recalibration: the sensor reports failure") }
        return Int(words[0]) - 0x8000
    }

    /// Writes the current configuration to EEPROM. Never call this in a loop (EEPROM endurance ~2000 writes).
    public func persistSettings() async throws(SensorError) {
        try await wire.send(Command.persistSettings, wait: .milliseconds(800), "persist_settings")
    }

    /// Wakes an SCD41 from power-down. The chip does not acknowledge this command, so the write error is
    /// ignored (datasheet); a chip that is awake ignores it.
    public func wakeUp() async {
        try? wire.write(SensirionTransport.frame(command: Command.wakeUp), "wake_up")
        await wire.clock.sleep(for: .milliseconds(30))
    }

    public func reinit() async throws(SensorError) {
        try await wire.send(Command.reinit, wait: .milliseconds(30), "reinit")
    }
}

import I2C

/// Sensirion SGP41 VOC and NOx sensor, address 0x59. Returns raw signals; the gas index algorithm turns them
/// into indices. Humidity and temperature compensation ride along with every measurement command.
public struct SGP41: Sendable {
    public static let defaultAddress: I2CAddress = 0x59

    public enum Command {
        public static let executeConditioning: UInt16 = 0x2612
        public static let measureRawSignals: UInt16 = 0x2619
        public static let executeSelfTest: UInt16 = 0x280E
        public static let turnHeaterOff: UInt16 = 0x3615
        public static let getSerialNumber: UInt16 = 0x3682
    }

    /// Compensation words when no humidity or temperature is known: 50 %RH (0x8000) and 25 degC (0x6666).
    public static let uncompensated: (humidity: UInt16, temperature: UInt16) = (0x8000, 0x6666)

    public let wire: SensirionTransport

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        wire = SensirionTransport(bus: bus, address: address, clock: clock, chip: "sgp41")
    }

    /// Compensation ticks: RH * 65535 / 100 and (T + 45) * 65535 / 175, clamped to the word range.
    public static func compensationTicks(humidity: Double, temperature: Double) -> (humidity: UInt16, temperature: UInt16) {
        func ticks(_ value: Double) -> UInt16 { UInt16(min(max(value.rounded(), 0), 65535)) }
        return (ticks(humidity * 65535 / 100), ticks((temperature + 45) * 65535 / 175))
    }

    /// One conditioning step (the heater settles the NOx pixel); returns SRAW_VOC. Run at most 10 s in total.
    public func executeConditioning(humidityTicks: UInt16, temperatureTicks: UInt16) async throws(SensorError) -> UInt16 {
        try await wire.query(Command.executeConditioning, with: [humidityTicks, temperatureTicks], wait: .milliseconds(50), words: 1,
                             "execute_conditioning")[0]
    }

    /// SRAW_VOC and SRAW_NOX.
    public func measureRawSignals(humidityTicks: UInt16, temperatureTicks: UInt16) async throws(SensorError) -> (voc: UInt16, nox: UInt16) {
        let words = try await wire.query(Command.measureRawSignals, with: [humidityTicks, temperatureTicks], wait: .milliseconds(50), words: 2,
                                         "measure_raw_signals")
        return (words[0], words[1])
    }

    /// The built-in self test: true when both pixels pass.
    public func selfTest() async throws(SensorError) -> Bool {
        let word = try await wire.query(Command.executeSelfTest, wait: .milliseconds(320), words: 1, "execute_self_test")[0]
        return word & 0x000F == 0
    }

    public func turnHeaterOff() async throws(SensorError) {
        try await wire.send(Command.turnHeaterOff, wait: .milliseconds(1), "turn_heater_off")
    }

    public func serialNumber() async throws(SensorError) -> UInt64 {
        let words = try await wire.query(Command.getSerialNumber, wait: .milliseconds(1), words: 3, "get_serial_number")
        return UInt64(words[0]) << 32 | UInt64(words[1]) << 16 | UInt64(words[2])
    }
}

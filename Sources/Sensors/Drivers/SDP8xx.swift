import I2C

/// Sensirion SDP8xx differential pressure sensor (duct airflow and filter pressure drop): SDP8x1 at 0x25,
/// SDP8x0 at 0x26. Continuous mode with averaging: each read returns the average since the previous read.
///
/// Not used: the soft reset, which is an I2C general call (address 0x00, byte 0x06) and would reset every
/// device on the bus that honours general calls.
public struct SDP8xx: Sendable {
    public static let defaultAddress: I2CAddress = 0x25

    public enum Command {
        /// Continuous differential pressure measurement, averaged until read.
        public static let startContinuousAveraged: UInt16 = 0x3615
        public static let stopContinuous: UInt16 = 0x3FF9
        /// Product identifier: two commands, then 18 bytes.
        public static let readProductIdentifier: (UInt16, UInt16) = (0x367C, 0xE102)
    }

    public struct Identity: Sendable, Equatable {
        /// Product number, e.g. 0x030201xx SDP800-500Pa, 0x03020Axx SDP810-500Pa (low byte is the revision).
        public var productNumber: UInt32
        public var serial: UInt64

        /// The model name when the product number is one we know.
        public var model: String? {
            switch productNumber & 0xFFFF_FF00 {
            case 0x0302_0100: return "SDP800-500Pa"
            case 0x0302_0A00: return "SDP810-500Pa"
            case 0x0302_0200: return "SDP800-125Pa"
            case 0x0302_0B00: return "SDP810-125Pa"
            default: return nil
            }
        }

        /// SDP8xx product numbers all start 0x0302.
        public var isSDP8xx: Bool { productNumber >> 16 == 0x0302 }
    }

    public struct Measurement: Sendable, Equatable {
        /// Pa.
        public var differentialPressure: Double
        /// degC.
        public var temperature: Double
        /// The chip's own scale factor (Pa^-1): 60 for 500 Pa parts, 240 for 125 Pa parts.
        public var scaleFactor: Int
    }

    public let wire: SensirionTransport

    public init(bus: any I2CBus, address: I2CAddress = defaultAddress, clock: any SensorClock) {
        wire = SensirionTransport(bus: bus, address: address, clock: clock, chip: "sdp8xx")
    }

    /// Reads the product identifier (only while not measuring).
    public func identity() async throws(SensorError) -> Identity {
        try await wire.send(Command.readProductIdentifier.0, "read_product_identifier")
        let words = try await wire.query(Command.readProductIdentifier.1, wait: .milliseconds(1), words: 6, "read_product_identifier")
        return Identity(
            productNumber: UInt32(words[0]) << 16 | UInt32(words[1]),
            serial: UInt64(words[2]) << 48 | UInt64(words[3]) << 32 | UInt64(words[4]) << 16 | UInt64(words[5]))
    }

    /// Starts averaged continuous measurement; the first value is ready after about 8 ms.
    public func startContinuous() async throws(SensorError) {
        try await wire.send(Command.startContinuousAveraged, wait: .milliseconds(10), "start_continuous_measurement")
    }

    public func stopContinuous() async throws(SensorError) {
        try await wire.send(Command.stopContinuous, wait: .microseconds(500), "stop_continuous_measurement")
    }

    /// Reads the running average: DP, T and the scale factor, each with its CRC.
    public func readMeasurement() throws(SensorError) -> Measurement {
        try Self.decode(wire.readWords(3, "read_measurement"))
    }

    /// DP = int16 / scale factor; T = int16 / 200.
    public static func decode(_ words: [UInt16]) throws(SensorError) -> Measurement {
        let scale = Int(words[2])
        guard scale > 0 else { throw SensorError(.malformed, "sdp8xx read_measurement: scale factor 0") }
        return Measurement(
            differentialPressure: Double(Int16(bitPattern: words[0])) / Double(scale),
            temperature: Double(Int16(bitPattern: words[1])) / 200,
            scaleFactor: scale)
    }
}

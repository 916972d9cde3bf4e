import I2C

/// A failed sensor operation, with the sensor and what went wrong; bus failures keep their `I2CError`.
public struct SensorError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The chip did not acknowledge (absent, unpowered, or still executing a command).
        case notResponding = "not_responding"
        /// A kernel driver owns the address.
        case busy
        /// The bus itself is missing.
        case busMissing = "bus_missing"
        /// The adapter cannot do the transfer this chip needs.
        case unsupported
        /// A word failed its CRC.
        case crc
        /// Wrong length or garbage where a frame belonged.
        case malformed
        /// A decoded value outside what the chip can physically report (RH 140 %, CO2 0 ppm).
        case implausible
        /// The chip has no new data (data-ready flag stayed 0).
        case notReady = "not_ready"
        /// The chip reports a fault of its own (SPS30 fan error, SCD4x self-test failure).
        case deviceFault = "device_fault"
        /// Another chip, or another variant, answers at this address.
        case wrongDevice = "wrong_device"
        /// Any other bus failure.
        case io
        /// The request names no configured sensor of the right type.
        case invalidConfiguration = "invalid_configuration"
    }

    public var kind: Kind
    /// What the failure was about, e.g. `scd4x read_measurement: word 1 failed CRC`.
    public var detail: String
    /// The bus error underneath, when there was one.
    public var i2c: I2CError?

    public init(_ kind: Kind, _ detail: String, i2c: I2CError? = nil) {
        self.kind = kind
        self.detail = detail
        self.i2c = i2c
    }

    /// Wraps a bus failure, keeping its kind.
    public init(_ error: I2CError, during operation: String) {
        let kind: Kind
        switch error.kind {
        case .notResponding: kind = .notResponding
        case .busy: kind = .busy
        case .busMissing: kind = .busMissing
        case .unsupported: kind = .unsupported
        case .invalidRequest, .io: kind = .io
        }
        self.init(kind, operation, i2c: error)
    }

    public var description: String {
        if let i2c { return "\(detail): \(i2c)" }
        return "\(kind.rawValue): \(detail)"
    }
}

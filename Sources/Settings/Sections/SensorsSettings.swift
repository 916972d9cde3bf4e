/// The chip families the sensor service drives; the `type` word in configuration.
public enum SensorDeviceType: String, Sendable, Equatable, CaseIterable, Codable {
    case sps30, scd4x, sgp41, sht4x, sdp8xx, bme280

    /// The address the chip answers at out of the box.
    public var defaultAddress: UInt8 {
        switch self {
        case .sps30: return 0x69
        case .scd4x: return 0x62
        case .sgp41: return 0x59
        case .sht4x: return 0x44
        case .sdp8xx: return 0x25
        case .bme280: return 0x76
        }
    }

    /// How often the service reads it unless configured: the chip's own update rate, or 1 s for the SGP41
    /// (the gas index algorithm expects a fixed 1 s sampling interval).
    public var defaultInterval: Duration {
        switch self {
        case .sps30: return .seconds(1)
        case .scd4x: return .seconds(5)
        case .sgp41: return .seconds(1)
        case .sht4x: return .seconds(1)
        case .sdp8xx: return .seconds(1)
        case .bme280: return .seconds(5)
        }
    }

    /// Intervals the chip supports.
    public var intervalRange: ClosedRange<Duration> {
        switch self {
        // The SCD4x produces a value every 5 s in periodic mode; reading faster only polls an empty buffer.
        case .scd4x: return .seconds(5) ... .seconds(3600)
        // The gas index algorithm is specified for sampling intervals of 1 to 10 s.
        case .sgp41: return .seconds(1) ... .seconds(10)
        default: return .milliseconds(100) ... .seconds(3600)
        }
    }
}

/// One sensor on an I2C bus.
public struct SensorDeviceSettings: Sendable, Equatable {
    /// Names the sensor in logs, readings and status, e.g. `duct-pm`.
    public var id: String
    public var type: SensorDeviceType
    /// The bus device, e.g. `/dev/i2c-1` (any name on the simulated board, e.g. `sim-i2c-1`).
    public var bus: String
    /// 7-bit address; defaults per type.
    public var address: UInt8
    /// Read interval.
    public var interval: Duration
    /// A disabled sensor is configured but never touched.
    public var enabled: Bool

    public init(id: String, type: SensorDeviceType, bus: String, address: UInt8? = nil, interval: Duration? = nil, enabled: Bool = true) {
        self.id = id
        self.type = type
        self.bus = bus
        self.address = address ?? type.defaultAddress
        self.interval = interval ?? type.defaultInterval
        self.enabled = enabled
    }
}

/// The `sensors` section of the configuration.
public struct SensorsSettings: Sendable, Equatable {
    /// The sensors, in the order they are reported.
    public var devices: [SensorDeviceSettings] = []
    /// Calibration file; nil means `sensors.yaml` in the calibration directory.
    public var calibrationFile: String?
    /// Log every published reading at info level (the demo); otherwise readings are not logged.
    public var logReadings = false

    public init(devices: [SensorDeviceSettings] = [], calibrationFile: String? = nil) {
        self.devices = devices
        self.calibrationFile = calibrationFile
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        calibrationFile = try map.optional("calibration_file")?.path()
        logReadings = try map.bool("log_readings", default: false)
        for node in try map.optional("devices")?.list() ?? [] {
            let device = try node.mapping()
            let idNode = try device.required("id")
            let id = try idNode.string()
            guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw idNode.error(.invalid("'\(id)' must be 1 to 64 letters, digits, '.', '_' or '-'"))
            }
            if devices.contains(where: { $0.id == id }) { throw idNode.error(.invalid("sensor id '\(id)' appears twice")) }
            let typeWord = try device.required("type").oneOf(SensorDeviceType.allCases.map(\.rawValue))
            let type = SensorDeviceType(rawValue: typeWord) ?? .sps30
            let busNode = try device.required("bus")
            let bus = try busNode.string()
            guard !bus.isEmpty else { throw busNode.error(.invalid("empty bus name")) }
            let address = try device.optional("address").map { node throws(ConfigurationError) in UInt8(try node.int(in: 0x03...0x77)) }
                ?? type.defaultAddress
            if let other = devices.first(where: { $0.bus == bus && $0.address == address }) {
                throw (device.optional("address") ?? busNode).error(.invalid(
                    "address 0x\(String(address, radix: 16)) on \(bus) is already used by sensor '\(other.id)'"))
            }
            let interval = try device.duration("interval", default: type.defaultInterval, in: type.intervalRange)
            let enabled = try device.bool("enabled", default: true)
            try device.finish()
            devices.append(SensorDeviceSettings(id: id, type: type, bus: bus, address: address, interval: interval, enabled: enabled))
        }
    }
}

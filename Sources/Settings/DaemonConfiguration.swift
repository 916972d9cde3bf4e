import Foundation

/// Where the daemon's hardware comes from.
public enum BoardKind: String, Sendable, Equatable {
    /// Real /dev/i2c-*, /dev/video*, /dev/gpiochip*.
    case hardware
    /// Fakes at the hardware boundary: chip emulators, replayed JPEGs, an in-memory GPIO chip.
    case simulated
}

/// Log verbosity, from configuration or `--log-level`.
public enum LogLevelSetting: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// The daemon's whole configuration: immutable, validated once at start-up (and at reload).
public struct DaemonConfiguration: Sendable, Equatable {
    /// Default location of the configuration file.
    public static let defaultPath = "/etc/remotair/remotaird.yaml"
    /// Default calibration folder (`calibration_dir`), also where `classify` looks for classifier.yaml.
    public static let defaultCalibrationDirectory = "/etc/remotair/calibration"

    /// The file this was read from.
    public var file: String
    /// Names this board in object keys, alarms and logs.
    public var deviceID: String
    public var board: BoardKind
    /// Durable state: the outbox, alarm state, gas-index state.
    public var stateDirectory: String
    /// Volatile state: the control socket.
    public var runtimeDirectory: String
    /// Calibration files: sensors.yaml, classifier.yaml, risk.yaml, the model.
    public var calibrationDirectory: String
    /// The risk rules; `risk.yaml` in the calibration directory unless `risk_file` names another.
    public var riskFile: String
    public var logLevel: LogLevelSetting

    public var sensors: SensorsSettings
    public var cameras: CamerasSettings
    public var gpio: GPIOSettings
    public var capture: CaptureSettings
    public var inference: InferenceSettings
    public var outbox: OutboxSettings
    public var uplink: UplinkSettings
    public var control: ControlSettings
    public var simulation: SimulationSettings
    /// Model updates from signed bundles (issue 22); nil (the section absent) means off.
    public var models: ModelsSettings?
    /// nil when the file has no `mqtt:` section (MQTT off).
    public var mqtt: MQTTSettings?

    /// Reads and validates a configuration file.
    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> DaemonConfiguration {
        try DaemonConfiguration(root: ConfigSource.load(file: file, environment: environment))
    }

    /// Parses configuration text (tests, and `check-config` on stdin).
    public static func parse(
        _ text: String, file: String, environment: [String: String] = [:]
    ) throws(ConfigurationError) -> DaemonConfiguration {
        try DaemonConfiguration(root: ConfigSource(file: file, environment: environment).parse(text))
    }

    public init(root: ConfigNode) throws(ConfigurationError) {
        let map = try root.mapping()
        file = root.source.file
        let id = try map.required("device_id")
        deviceID = try id.string()
        guard Self.isValidDeviceID(deviceID) else {
            throw id.error(.invalid("'\(deviceID)' must be 1 to 64 characters of letters, digits, '.', '_' or '-' (it becomes part of object keys)"))
        }
        board = BoardKind(rawValue: try map.oneOf("board", ["hardware", "simulated"], default: "hardware")) ?? .hardware
        stateDirectory = try map.optional("state_dir")?.path() ?? "/var/lib/remotair"
        runtimeDirectory = try map.optional("runtime_dir")?.path() ?? "/run/remotair"
        calibrationDirectory = try map.optional("calibration_dir")?.path() ?? Self.defaultCalibrationDirectory
        riskFile = try map.optional("risk_file")?.path() ?? (calibrationDirectory as NSString).appendingPathComponent("risk.yaml")
        logLevel = LogLevelSetting(rawValue: try map.oneOf("log_level", LogLevelSetting.allCases.map(\.rawValue), default: "info")) ?? .info

        sensors = try map.section("sensors") { m throws(ConfigurationError) in try SensorsSettings(m) }
        cameras = try map.section("cameras") { m throws(ConfigurationError) in try CamerasSettings(m) }
        gpio = try map.section("gpio") { m throws(ConfigurationError) in try GPIOSettings(m) }
        capture = try map.section("capture") { m throws(ConfigurationError) in try CaptureSettings(m) }
        inference = try map.section("inference") { m throws(ConfigurationError) in try InferenceSettings(m) }
        outbox = try map.section("outbox") { m throws(ConfigurationError) in try OutboxSettings(m) }
        uplink = try map.section("uplink") { m throws(ConfigurationError) in try UplinkSettings(m) }
        control = try map.section("control") { m throws(ConfigurationError) in try ControlSettings(m) }
        simulation = try map.section("simulation") { m throws(ConfigurationError) in try SimulationSettings(m) }
        models = map.optional("models") == nil ? nil : try map.section("models") { m throws(ConfigurationError) in try ModelsSettings(m) }
        if models != nil, uplink.endpoint == nil {
            throw ConfigurationError(file: file, keyPath: "models", line: map.optional("models")?.line,
                                     problem: .invalid("bundles are fetched through the uplink: set uplink.endpoint (https://... or file:///...)"))
        }
        mqtt = try map.optional("mqtt").map { (node: ConfigNode) throws(ConfigurationError) -> MQTTSettings in
            let mapping = try node.mapping()
            let settings = try MQTTSettings(mapping, deviceID: deviceID)
            try mapping.finish()
            return settings
        }
        try map.finish()
    }

    static func isValidDeviceID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0)
        }
    }
}

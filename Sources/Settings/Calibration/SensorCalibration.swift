import Foundation

/// `sensors.yaml` in the calibration directory: a `default` section and optional per-board sections
/// (keyed by the board's `device_id`), each with offset and gain per metric and chip settings.
/// A board section overrides the default entry by entry. Unknown keys are rejected like in configuration.
public struct SensorCalibration: Sendable, Equatable {
    /// Metric names a correction may name (the sensor layer's `Metric` raw values).
    public static let knownMetrics: [String] = [
        "pm1_0", "pm2_5", "pm4_0", "pm10", "nc0_5", "nc1_0", "nc2_5", "nc4_0", "nc10", "typical_particle_size",
        "co2", "temperature", "humidity", "voc_index", "nox_index", "sraw_voc", "sraw_nox", "pressure",
        "differential_pressure",
    ]

    /// value' = value * gain + offset.
    public struct Correction: Sendable, Equatable {
        public var offset: Double
        public var gain: Double

        public init(offset: Double = 0, gain: Double = 1) {
            self.offset = offset
            self.gain = gain
        }

        public func apply(_ value: Double) -> Double { value * gain + offset }
    }

    /// One section (default, or one board).
    public struct Section: Sendable, Equatable {
        public var metrics: [String: Correction] = [:]
        /// SCD4x temperature offset in degC (its self-heating inside our enclosure); chip default 4.
        public var scd4xTemperatureOffset: Double?
        /// SCD4x altitude in metres above sea level (used when no BME280 pressure is available).
        public var scd4xAltitude: Int?
        /// SCD4x automatic self-calibration (ASC) on or off.
        public var scd4xAutomaticSelfCalibration: Bool?
        /// SPS30 automatic fan-cleaning interval.
        public var sps30CleaningInterval: Duration?

        public init() {}
    }

    /// What applies on one board: corrections with the label of the section they came from.
    public struct Resolved: Sendable, Equatable {
        public var corrections: [String: (correction: Correction, label: String)] = [:]
        public var scd4xTemperatureOffset: Double = 4
        public var scd4xAltitude: Int = 0
        public var scd4xAutomaticSelfCalibration: Bool = true
        public var sps30CleaningInterval: Duration = .seconds(604_800)

        public init() {}

        public static func == (a: Resolved, b: Resolved) -> Bool {
            a.corrections.mapValues { "\($0.correction.offset) \($0.correction.gain) \($0.label)" }
                == b.corrections.mapValues { "\($0.correction.offset) \($0.correction.gain) \($0.label)" }
                && a.scd4xTemperatureOffset == b.scd4xTemperatureOffset && a.scd4xAltitude == b.scd4xAltitude
                && a.scd4xAutomaticSelfCalibration == b.scd4xAutomaticSelfCalibration
                && a.sps30CleaningInterval == b.sps30CleaningInterval
        }
    }

    public var defaults = Section()
    public var boards: [String: Section] = [:]

    public init(defaults: Section = Section(), boards: [String: Section] = [:]) {
        self.defaults = defaults
        self.boards = boards
    }

    /// Reads and validates a calibration file.
    public static func load(file: String) throws(ConfigurationError) -> SensorCalibration {
        try SensorCalibration(root: ConfigSource.load(file: file, environment: [:]))
    }

    /// Parses calibration text (tests).
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> SensorCalibration {
        try SensorCalibration(root: ConfigSource(file: file, environment: [:]).parse(text))
    }

    public init(root: ConfigNode) throws(ConfigurationError) {
        let map = try root.mapping()
        defaults = try map.section("default") { m throws(ConfigurationError) in try Self.section(m) }
        if let boardsNode = map.optional("boards") {
            let boardsMap = try boardsNode.mapping()
            for board in boardsMap.keys {
                boards[board] = try boardsMap.section(board) { m throws(ConfigurationError) in try Self.section(m) }
            }
            try boardsMap.finish()
        }
        try map.finish()
    }

    private static func section(_ map: ConfigMapping) throws(ConfigurationError) -> Section {
        var section = Section()
        if let metricsNode = map.optional("metrics") {
            let metrics = try metricsNode.mapping()
            for name in metrics.keys {
                guard let node = metrics.optional(name) else { continue }
                guard knownMetrics.contains(name) else {
                    throw node.error(.invalid("'\(name)' is not a metric (one of \(knownMetrics.joined(separator: ", ")))"))
                }
                let entry = try node.mapping()
                let correction = Correction(
                    offset: try entry.double("offset", default: 0, in: -10_000...10_000),
                    gain: try entry.double("gain", default: 1, in: 0.1...10))
                try entry.finish()
                section.metrics[name] = correction
            }
            try metrics.finish()
        }
        try map.section("scd4x") { m throws(ConfigurationError) in
            // The SCD4x accepts offsets 0 to 20 degC (datasheet, set_temperature_offset).
            section.scd4xTemperatureOffset = try m.optional("temperature_offset")?.double(in: 0...20)
            section.scd4xAltitude = try m.optional("altitude")?.int(in: 0...3000)
            section.scd4xAutomaticSelfCalibration = try m.optional("automatic_self_calibration")?.bool()
        }
        try map.section("sps30") { m throws(ConfigurationError) in
            // 0 disables auto-cleaning; Sensirion recommends at most a week between cleanings.
            section.sps30CleaningInterval = try m.optional("cleaning_interval")?.duration(in: .zero ... .seconds(4_294_967_295))
        }
        return section
    }

    /// The settings that apply on board `deviceID`: the board's section over the default section.
    public func resolved(board deviceID: String) -> Resolved {
        var result = Resolved()
        let board = boards[deviceID]
        for (label, section) in [("default", Optional(defaults)), ("board \(deviceID)", board)] {
            guard let section else { continue }
            for (metric, correction) in section.metrics { result.corrections[metric] = (correction, label) }
            if let value = section.scd4xTemperatureOffset { result.scd4xTemperatureOffset = value }
            if let value = section.scd4xAltitude { result.scd4xAltitude = value }
            if let value = section.scd4xAutomaticSelfCalibration { result.scd4xAutomaticSelfCalibration = value }
            if let value = section.sps30CleaningInterval { result.sps30CleaningInterval = value }
        }
        return result
    }
}

extension SensorCalibration {
    /// The calibration file a configuration points at: `sensors.calibration_file`, else `sensors.yaml` in the
    /// calibration directory.
    public static func path(for configuration: DaemonConfiguration) -> String {
        configuration.sensors.calibrationFile ?? (configuration.calibrationDirectory as NSString).appendingPathComponent("sensors.yaml")
    }

    /// Loads the sensor calibration for this board. A missing default file means factory settings; an
    /// explicitly configured file must exist. Invalid files are errors, like configuration.
    public static func load(for configuration: DaemonConfiguration) throws(ConfigurationError) -> Resolved {
        let file = path(for: configuration)
        if configuration.sensors.calibrationFile == nil, !FileManager.default.fileExists(atPath: file) {
            return Resolved()
        }
        return try load(file: file).resolved(board: configuration.deviceID)
    }
}

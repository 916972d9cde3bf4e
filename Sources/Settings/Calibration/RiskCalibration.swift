/// `Calibration/risk.yaml`: how captures, air quality and device health turn into alarms.
public struct RiskCalibration: Sendable, Equatable {
    /// One air-quality rule: warn and alarm levels held for `sustain`, cleared under `clear`.
    public struct LevelRule: Sendable, Equatable {
        public var warn: Double?
        public var alarm: Double
        public var clear: Double
        public var sustain: Duration
        /// `above` (high is bad) or `below`.
        public var direction: String
    }

    public var file: String
    /// Captures that must agree (k) out of the last `window` (n).
    public var required: Int
    public var window: Int
    public var minimumDwell: Duration
    /// `any`, `all` or `mean`.
    public var fusion: String
    /// Rules by metric name, as the sensors name metrics (`pm2_5`, `co2`, `humidity`, ...).
    public var airQuality: [String: LevelRule]
    public var cameraOfflineAfter: Duration
    public var sensorFaultedAfter: Duration
    public var lensBlockedCaptures: Int
    public var outboxFullFraction: Double

    /// Metrics a rule may name; a rule for anything else is refused (no sensor would ever feed it).
    public static let knownMetrics: Set<String> = [
        "pm1_0", "pm2_5", "pm4_0", "pm10", "co2", "voc_index", "nox_index", "humidity", "temperature",
        "differential_pressure", "pressure",
    ]

    public static func load(file: String) throws(ConfigurationError) -> RiskCalibration {
        try RiskCalibration(root: ConfigSource.load(file: file, environment: [:]))
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> RiskCalibration {
        try RiskCalibration(root: ConfigSource(file: file, environment: [:]).parse(text))
    }

    init(root: ConfigNode) throws(ConfigurationError) {
        let map = try root.mapping()
        file = root.source.file
        (required, window, minimumDwell, fusion) = try map.section("cameras") { m throws(ConfigurationError) in
            let window = try m.int("window", default: 3, in: 1...20)
            let requiredNode = m.optional("required")
            let required = try requiredNode?.int(in: 1...20) ?? min(2, window)
            if let requiredNode, required > window {
                throw requiredNode.error(.invalid("required (\(required)) cannot exceed window (\(window))"))
            }
            let dwell = try m.duration("min_dwell", default: .seconds(0), in: .zero...(.seconds(30 * 86400)))
            let fusion = try m.oneOf("fusion", ["any", "all", "mean"], default: "any")
            return (required, window, dwell, fusion)
        }
        var rules: [String: LevelRule] = [:]
        if let node = try map.optional("air_quality") {
            let rulesMap = try node.mapping()
            for metric in rulesMap.keys {
                let ruleNode = try rulesMap.required(metric)
                guard Self.knownMetrics.contains(metric) else {
                    throw ruleNode.error(.invalid("no sensor provides metric '\(metric)'; known: \(Self.knownMetrics.sorted().joined(separator: ", "))"))
                }
                let rule = try ruleNode.mapping()
                let direction = try rule.oneOf("direction", ["above", "below"], default: "above")
                let warn = try rule.optional("warn")?.double()
                let alarmNode = try rule.required("alarm")
                let alarm = try alarmNode.double()
                let clearNode = try rule.required("clear")
                let clear = try clearNode.double()
                let sustain = try rule.duration("for", default: .seconds(600), in: .zero...(.seconds(7 * 86400)))
                let above = direction == "above"
                if let warn, above ? warn > alarm : warn < alarm {
                    throw alarmNode.error(.invalid("alarm (\(alarm)) must be \(above ? "at or above" : "at or below") warn (\(warn))"))
                }
                let lowest = warn ?? alarm
                if above ? clear >= lowest : clear <= lowest {
                    throw clearNode.error(.invalid("clear (\(clear)) must be \(above ? "below" : "above") \(warn == nil ? "alarm" : "warn") (\(lowest)) for hysteresis"))
                }
                try rule.finish()
                rules[metric] = LevelRule(warn: warn, alarm: alarm, clear: clear, sustain: sustain, direction: direction)
            }
            try rulesMap.finish()
        }
        airQuality = rules
        (cameraOfflineAfter, sensorFaultedAfter, lensBlockedCaptures, outboxFullFraction) = try map.section("devices") { m throws(ConfigurationError) in
            (try m.duration("camera_offline_after", default: .seconds(600), in: .seconds(1)...(.seconds(7 * 86400))),
             try m.duration("sensor_faulted_after", default: .seconds(1800), in: .seconds(1)...(.seconds(7 * 86400))),
             try m.int("lens_blocked_captures", default: 3, in: 1...100),
             try m.double("outbox_full_fraction", default: 0.9, in: 0.1...1.0))
        }
        try map.finish()
    }
}

/// `alarms`: the alarms active now.
public struct AlarmsResult: Codable, Sendable, Equatable {
    public var alarms: [Alarm]

    public struct Alarm: Codable, Sendable, Equatable {
        public var id: String
        /// What raised it, e.g. `co2_high`, `duct_dirty`, `camera_offline`.
        public var kind: String
        /// `warning` or `critical`.
        public var severity: String
        public var message: String
        /// Seconds since it was raised.
        public var ageSeconds: Double
        /// Whether it reached the uplink.
        public var uploaded: Bool

        public init(id: String, kind: String, severity: String, message: String, ageSeconds: Double, uploaded: Bool) {
            self.id = id
            self.kind = kind
            self.severity = severity
            self.message = message
            self.ageSeconds = ageSeconds
            self.uploaded = uploaded
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, severity, message, uploaded
            case ageSeconds = "age_s"
        }
    }

    public init(alarms: [Alarm]) {
        self.alarms = alarms
    }
}

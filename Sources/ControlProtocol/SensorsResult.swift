/// `sensors`: the latest reading of every quantity.
public struct SensorsResult: Codable, Sendable, Equatable {
    public var readings: [Reading]

    /// One quantity from one sensor.
    public struct Reading: Codable, Sendable, Equatable {
        /// Quantity, e.g. `co2`, `temperature`, `pm2_5`.
        public var name: String
        /// The chip it came from, e.g. `scd41`.
        public var sensor: String
        /// nil when the sensor never delivered.
        public var value: Double?
        public var unit: String
        /// Seconds since the reading was taken.
        public var ageSeconds: Double?
        /// `ok`, `stale`, `warming_up`, `failed`...
        public var state: String

        public init(name: String, sensor: String, value: Double?, unit: String, ageSeconds: Double?, state: String) {
            self.name = name
            self.sensor = sensor
            self.value = value
            self.unit = unit
            self.ageSeconds = ageSeconds
            self.state = state
        }

        enum CodingKeys: String, CodingKey {
            case name, sensor, value, unit, state
            case ageSeconds = "age_s"
        }
    }

    public init(readings: [Reading]) {
        self.readings = readings
    }
}

/// `status`: versions, uptime, the overall state and each subsystem's state and counters.
public struct StatusResult: Codable, Sendable, Equatable {
    public var deviceID: String
    /// Versions by component: `remotaird`, the model, calibration files.
    public var versions: [String: String]
    public var uptimeSeconds: Double
    /// `ok`, `degraded` (something is failing but the board still works) or `failing`.
    public var state: String
    /// Sorted by name: sensors, cameras, classifier, risk, outbox, uplink...
    public var subsystems: [Subsystem]

    /// One subsystem's published state.
    public struct Subsystem: Codable, Sendable, Equatable {
        public var name: String
        /// A short state word: `ok`, `offline`, `retrying`...
        public var state: String
        /// How long it has been in this state.
        public var sinceSeconds: Double?
        /// Counters and details, e.g. `captures: 12`, `errors: 0`.
        public var detail: [String: String]

        public init(name: String, state: String, sinceSeconds: Double?, detail: [String: String] = [:]) {
            self.name = name
            self.state = state
            self.sinceSeconds = sinceSeconds
            self.detail = detail
        }

        enum CodingKeys: String, CodingKey {
            case name, state, detail
            case sinceSeconds = "since_s"
        }
    }

    public init(deviceID: String, versions: [String: String], uptimeSeconds: Double, state: String, subsystems: [Subsystem]) {
        self.deviceID = deviceID
        self.versions = versions
        self.uptimeSeconds = uptimeSeconds
        self.state = state
        self.subsystems = subsystems
    }

    enum CodingKeys: String, CodingKey {
        case versions, state, subsystems
        case deviceID = "device_id"
        case uptimeSeconds = "uptime_s"
    }
}

/// `version`: the daemon and protocol versions.
public struct VersionResult: Codable, Sendable, Equatable {
    public var daemon: String
    /// Bumped when a field changes meaning; added fields do not bump it.
    public var `protocol`: Int
    /// Other versioned parts: model, calibration.
    public var components: [String: String]

    public init(daemon: String, protocol: Int = ControlProtocolVersion.current, components: [String: String] = [:]) {
        self.daemon = daemon
        self.protocol = `protocol`
        self.components = components
    }
}

/// The control protocol's version.
public enum ControlProtocolVersion {
    public static let current = 1
}

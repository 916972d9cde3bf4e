/// `outbox`: what waits for upload, by kind and state.
public struct OutboxResult: Codable, Sendable, Equatable {
    public var entries: [Entry]
    /// Age of the oldest item not yet uploaded.
    public var oldestAgeSeconds: Double?
    public var lastError: String?
    public var lastErrorAgeSeconds: Double?

    /// Items of one kind in one state.
    public struct Entry: Codable, Sendable, Equatable {
        /// `alarm`, `snapshot`, `reading`...
        public var kind: String
        /// `pending`, `retrying`, `uploaded`...
        public var state: String
        public var count: Int
        public var bytes: Int

        public init(kind: String, state: String, count: Int, bytes: Int) {
            self.kind = kind
            self.state = state
            self.count = count
            self.bytes = bytes
        }
    }

    public init(entries: [Entry], oldestAgeSeconds: Double?, lastError: String?, lastErrorAgeSeconds: Double?) {
        self.entries = entries
        self.oldestAgeSeconds = oldestAgeSeconds
        self.lastError = lastError
        self.lastErrorAgeSeconds = lastErrorAgeSeconds
    }

    enum CodingKeys: String, CodingKey {
        case entries
        case oldestAgeSeconds = "oldest_age_s"
        case lastError = "last_error"
        case lastErrorAgeSeconds = "last_error_age_s"
    }
}

/// `outbox-flush`: how many items were woken for an upload attempt now.
public struct OutboxFlushResult: Codable, Sendable, Equatable {
    public var retrying: Int

    public init(retrying: Int) {
        self.retrying = retrying
    }
}

/// `reload`: what was reloaded (configuration, calibration, model).
public struct ReloadResult: Codable, Sendable, Equatable {
    public var reloaded: [String]

    public init(reloaded: [String]) {
        self.reloaded = reloaded
    }
}

/// `calibrate-co2`: the SCD4x forced recalibration's outcome.
public struct CalibrationResult: Codable, Sendable, Equatable {
    public var sensor: String
    public var referencePPM: Int
    /// The correction the sensor applied, in ppm (the FRC command's answer).
    public var correctionPPM: Int

    public init(sensor: String, referencePPM: Int, correctionPPM: Int) {
        self.sensor = sensor
        self.referencePPM = referencePPM
        self.correctionPPM = correctionPPM
    }

    enum CodingKeys: String, CodingKey {
        case sensor
        case referencePPM = "reference_ppm"
        case correctionPPM = "correction_ppm"
    }
}

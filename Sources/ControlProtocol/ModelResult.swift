/// `model` and `model-rollback` (issue 22): the model bundles this board runs and keeps, and what the channel's last
/// check did. Times are ISO 8601 UTC.
public struct ModelResult: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var version: String
        public var sha256: String
        public var activatedAt: String
        /// The channel it came from; `calibration` for the calibration directory's model.
        public var channel: String

        public init(version: String, sha256: String, activatedAt: String, channel: String) {
            self.version = version
            self.sha256 = sha256
            self.activatedAt = activatedAt
            self.channel = channel
        }

        enum CodingKeys: String, CodingKey {
            case version, sha256, channel
            case activatedAt = "activated_at"
        }
    }

    public struct Refusal: Codable, Sendable, Equatable {
        public var version: String
        /// A stable reason code: `signature`, `file-digest`, `not-newer`, `daemon-too-old`, `model-load`, `labels`,
        /// `classifier`, `reference-scores`, `malformed`.
        public var reason: String
        public var detail: String
        public var at: String

        public init(version: String, reason: String, detail: String, at: String) {
            self.version = version
            self.reason = reason
            self.detail = detail
            self.at = at
        }
    }

    /// False when the configuration has no `models:` section.
    public var enabled: Bool
    public var channel: String?
    public var current: Model?
    public var previous: Model?
    public var lastCheck: String?
    public var lastCheckResult: String?
    public var lastRefusal: Refusal?
    /// Set when the active model failed to load at start-up and another runs instead.
    public var startupFallback: String?

    public init(enabled: Bool, channel: String? = nil, current: Model? = nil, previous: Model? = nil, lastCheck: String? = nil,
                lastCheckResult: String? = nil, lastRefusal: Refusal? = nil, startupFallback: String? = nil) {
        self.enabled = enabled
        self.channel = channel
        self.current = current
        self.previous = previous
        self.lastCheck = lastCheck
        self.lastCheckResult = lastCheckResult
        self.lastRefusal = lastRefusal
        self.startupFallback = startupFallback
    }

    enum CodingKeys: String, CodingKey {
        case enabled, channel, current, previous
        case lastCheck = "last_check", lastCheckResult = "last_check_result", lastRefusal = "last_refusal", startupFallback = "startup_fallback"
    }
}

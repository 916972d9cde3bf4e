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
        /// Whether its latest document reached the bucket (`upload.state` is `uploaded`).
        public var uploaded: Bool
        /// Where its latest document (raise or update) is on its way to the bucket; absent from daemons
        /// before this field.
        public var upload: Upload?

        public init(id: String, kind: String, severity: String, message: String, ageSeconds: Double, uploaded: Bool, upload: Upload? = nil) {
            self.id = id
            self.kind = kind
            self.severity = severity
            self.message = message
            self.ageSeconds = ageSeconds
            self.uploaded = uploaded
            self.upload = upload
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, severity, message, uploaded, upload
            case ageSeconds = "age_s"
        }
    }

    /// An alarm document's way to the bucket, as the outbox knows it.
    public struct Upload: Codable, Sendable, Equatable {
        /// `not_queued` (the outbox refused it; retried every capture), `queued`, `uploading`, `uploaded`,
        /// `lost` (its files were damaged), or `unknown` (the outbox keeps no record of it).
        public var state: String
        /// The outbox item holding the document.
        public var itemID: String?
        /// Upload attempts that failed so far.
        public var attempts: Int?
        /// The last upload error, or why the document was lost or not queued.
        public var lastError: String?
        /// When the bucket confirmed it (UTC, ISO 8601).
        public var uploadedAt: String?
        /// Seconds since it was uploaded.
        public var uploadedAgeSeconds: Double?
        /// The object key in the bucket (set once uploaded).
        public var objectKey: String?

        public init(state: String, itemID: String? = nil, attempts: Int? = nil, lastError: String? = nil,
                    uploadedAt: String? = nil, uploadedAgeSeconds: Double? = nil, objectKey: String? = nil) {
            self.state = state
            self.itemID = itemID
            self.attempts = attempts
            self.lastError = lastError
            self.uploadedAt = uploadedAt
            self.uploadedAgeSeconds = uploadedAgeSeconds
            self.objectKey = objectKey
        }

        enum CodingKeys: String, CodingKey {
            case state, attempts
            case itemID = "item_id"
            case lastError = "last_error"
            case uploadedAt = "uploaded_at"
            case uploadedAgeSeconds = "uploaded_age_s"
            case objectKey = "object_key"
        }
    }

    public init(alarms: [Alarm]) {
        self.alarms = alarms
    }
}

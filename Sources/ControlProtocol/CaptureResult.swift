/// Arguments of `capture`, validated by the dispatcher.
public struct CaptureRequest: Sendable, Equatable {
    /// A camera name, or nil for all cameras.
    public var camera: String?
    /// Queue the snapshots for upload (default true).
    public var upload: Bool
    /// A technician's note kept with the snapshots, at most 500 characters.
    public var note: String?

    public init(camera: String? = nil, upload: Bool = true, note: String? = nil) {
        self.camera = camera
        self.upload = upload
        self.note = note
    }

    /// The longest note accepted, in characters.
    public static let maxNoteLength = 500
}

/// `capture`: what each camera saw, and whether its snapshot went into the outbox.
public struct CaptureResult: Codable, Sendable, Equatable {
    public var cameras: [Camera]
    /// Whether the snapshots were queued for upload: false with `--no-upload`, and false when the outbox
    /// refused a camera's snapshot (that camera's `snapshot_queued` is false and `snapshot_error` says why).
    public var upload: Bool
    public var note: String?
    public var totalMilliseconds: Int

    /// One camera's capture and classification, or its error.
    public struct Camera: Codable, Sendable, Equatable {
        public var name: String
        /// `clean` or `dirty`; nil when the capture failed.
        public var label: String?
        /// Class scores, 0...1.
        public var scores: [String: Double]
        /// Image quality flags: `dark`, `blurry`, `overexposed`...
        public var quality: [String]
        /// Outbox id of the stored snapshot.
        public var snapshotID: String?
        /// Stage timings in milliseconds: `capture` and `classify`, each absent when that stage did not run.
        public var timings: [String: Int]
        /// Why this camera has no result.
        public var error: ControlError?
        /// Whether this camera's snapshot is in the outbox, on its way to the bucket; nil when none was
        /// asked for (`--no-upload`) or the camera gave no frame. Absent from daemons before this field.
        public var snapshotQueued: Bool?
        /// Why the snapshot was not queued, e.g. `below_free_space_floor` or `outbox_full`.
        public var snapshotError: ControlError?

        public init(name: String, label: String?, scores: [String: Double] = [:], quality: [String] = [],
                    snapshotID: String? = nil, timings: [String: Int] = [:], error: ControlError? = nil,
                    snapshotQueued: Bool? = nil, snapshotError: ControlError? = nil) {
            self.name = name
            self.label = label
            self.scores = scores
            self.quality = quality
            self.snapshotID = snapshotID
            self.timings = timings
            self.error = error
            self.snapshotQueued = snapshotQueued
            self.snapshotError = snapshotError
        }

        enum CodingKeys: String, CodingKey {
            case name, label, scores, quality, error
            case snapshotID = "snapshot_id"
            case timings = "timings_ms"
            case snapshotQueued = "snapshot_queued"
            case snapshotError = "snapshot_error"
        }
    }

    public init(cameras: [Camera], upload: Bool, note: String?, totalMilliseconds: Int) {
        self.cameras = cameras
        self.upload = upload
        self.note = note
        self.totalMilliseconds = totalMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case cameras, upload, note
        case totalMilliseconds = "total_ms"
    }
}

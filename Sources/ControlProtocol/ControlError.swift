/// An error answered on the control socket: a stable machine code and a sentence for people.
///
/// Codes are open-ended strings so a newer daemon can add codes an older `remotairctl` still prints.
public struct ControlError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code, e.g. `camera_offline`.
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        /// The request is not valid JSON, lacks `cmd`, or an argument has the wrong type or range.
        public static let badRequest = Code(rawValue: "bad_request")
        /// `cmd` names no command this daemon knows.
        public static let unknownCommand = Code(rawValue: "unknown_command")
        /// The peer is not on the configured allow-list.
        public static let permissionDenied = Code(rawValue: "permission_denied")
        /// A request line is over 64 KiB; the connection is closed.
        public static let tooLarge = Code(rawValue: "too_large")
        /// Too many connections or queued requests; try again.
        public static let busy = Code(rawValue: "busy")
        /// The connection was idle too long and is closed.
        public static let timeout = Code(rawValue: "timeout")
        /// A camera did not deliver a frame.
        public static let cameraOffline = Code(rawValue: "camera_offline")
        /// The command is disabled by configuration (e.g. CO2 calibration).
        public static let notAllowed = Code(rawValue: "not_allowed")
        /// This build of the daemon does not provide the command yet.
        public static let notAvailable = Code(rawValue: "not_available")
        /// The outbox refused an item: the filesystem's free space is below `outbox.free_space_floor`.
        public static let belowFreeSpaceFloor = Code(rawValue: "below_free_space_floor")
        /// The outbox refused an item: its disk budget is full of items that rank above it.
        public static let outboxFull = Code(rawValue: "outbox_full")
        /// The outbox failed to store an item (I/O error, closed, not open); details are in the journal.
        public static let outboxFailed = Code(rawValue: "outbox_failed")
        /// A capture request joined one already running that queued no snapshot (a scheduled capture whose
        /// snapshot was not due, or one run with `upload: false`); capture again.
        public static let captureJoined = Code(rawValue: "capture_joined")
        /// The daemon failed in a way the client cannot fix; details are in the journal.
        public static let `internal` = Code(rawValue: "internal")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(code: Code, message: String) {
        self.init(code, message)
    }

    public var description: String { "\(code): \(message)" }
}

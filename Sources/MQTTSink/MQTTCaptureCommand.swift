import ControlProtocol
import Foundation

/// A remote capture request read from `{prefix}/cmd/capture` (issue 19, `accept_commands: true`). The payload is
/// the control socket's request line for `capture`, `cmd` optional: `{"id": 7, "args": {"camera": "upstream",
/// "note": "...", "upload": false}, "requested_by": "alice"}`. The arguments themselves are checked by the
/// control dispatcher, the socket's own rules; this type only reads the envelope, and never traps.
///
/// `requestedBy` is what the requester says about itself: the MQTT 5 user property `requested_by`, else the
/// payload's `requested_by`. Neither is authenticated (a broker forwards both as the publisher set them): what
/// authorises a remote capture is the broker's ACL on the command topic.
public struct MQTTCaptureCommand: Sendable, Equatable {
    /// Echoed in the result so a requester can match answers; optional.
    public var id: Int?
    /// The socket's `capture` arguments, unchecked.
    public var args: [String: JSONValue]
    public var requestedBy: String?

    public init(id: Int? = nil, args: [String: JSONValue] = [:], requestedBy: String? = nil) {
        self.id = id
        self.args = args
        self.requestedBy = requestedBy
    }

    /// The largest payload read, the socket's longest request line.
    public static let maxPayloadBytes = ControlRequest.maxLineBytes
    /// A longer `requested_by` is cut to this many characters before it reaches a log line.
    public static let maxRequesterLength = 128
    /// The user property (and payload field) naming the requester.
    public static let requesterKey = "requested_by"

    /// A payload that is not a capture request, with what could be read of it for the error result and the log.
    public struct Rejection: Error, Sendable, Equatable {
        public var id: Int?
        public var requestedBy: String?
        public var error: ControlError
    }

    /// Reads one payload. `userProperties` are the message's MQTT 5 user properties (name, value).
    public static func parse(_ payload: [UInt8], userProperties: [(name: String, value: String)] = []) -> Result<MQTTCaptureCommand, Rejection> {
        var requestedBy = userProperties.first { $0.name == requesterKey }.map { clip($0.value) }
        guard payload.count <= maxPayloadBytes else {
            return .failure(Rejection(id: nil, requestedBy: requestedBy,
                                      error: ControlError(.tooLarge, "the request is \(payload.count) bytes; at most \(maxPayloadBytes) are read")))
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(payload))
        } catch {
            return .failure(Rejection(id: nil, requestedBy: requestedBy, error: ControlError(.badRequest, "not valid JSON")))
        }
        guard case .object(let fields) = root else {
            return .failure(Rejection(id: nil, requestedBy: requestedBy, error: ControlError(.badRequest, "a request is a JSON object, not \(root.typeName)")))
        }
        if requestedBy == nil, case .string(let name)? = fields[requesterKey] { requestedBy = clip(name) }
        var id: Int?
        switch fields["id"] {
        case nil, .null?:
            break
        case let value?:
            guard let integer = value.integer else {
                return .failure(Rejection(id: nil, requestedBy: requestedBy, error: ControlError(.badRequest, "id must be an integer, not \(value.typeName)")))
            }
            id = integer
        }
        switch fields["cmd"] {
        case nil, .null?, .string("capture")?:
            break
        case let other?:
            let shown = if case .string(let word) = other { "\"\(clip(word))\"" } else { other.typeName }
            return .failure(Rejection(id: id, requestedBy: requestedBy,
                                      error: ControlError(.badRequest, "this topic takes capture requests only; cmd must be \"capture\" or absent, not \(shown)")))
        }
        switch fields["args"] {
        case nil, .null?:
            return .success(MQTTCaptureCommand(id: id, requestedBy: requestedBy))
        case .object(let args)?:
            return .success(MQTTCaptureCommand(id: id, args: args, requestedBy: requestedBy))
        case let other?:
            return .failure(Rejection(id: id, requestedBy: requestedBy, error: ControlError(.badRequest, "args must be an object, not \(other.typeName)")))
        }
    }

    /// Keeps a requester's self-description short enough for a log line.
    static func clip(_ text: String) -> String {
        text.count <= maxRequesterLength ? text : String(text.prefix(maxRequesterLength)) + "..."
    }
}

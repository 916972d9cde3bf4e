import Foundation

/// One request line: `{"id": 7, "cmd": "capture", "args": {"camera": "upstream"}}`.
/// Unknown top-level fields and unknown arguments are ignored, so newer clients work with older daemons.
public struct ControlRequest: Sendable, Equatable, Encodable {
    /// Echoed in the response so a client can match answers; optional.
    public var id: Int?
    /// The command word; checked against `ControlCommand` by the dispatcher.
    public var cmd: String
    public var args: [String: JSONValue]

    public init(id: Int?, cmd: String, args: [String: JSONValue] = [:]) {
        self.id = id
        self.cmd = cmd
        self.args = args
    }

    /// The longest request line accepted, without its newline.
    public static let maxLineBytes = 64 * 1024

    /// A request that could not be read, with whatever id could be recovered for the answer.
    public struct Rejection: Error, Sendable, Equatable {
        public var id: Int?
        public var error: ControlError
    }

    /// Parses one line (without the newline). Never traps: every malformed input becomes a `bad_request`.
    public static func parse(_ line: some Collection<UInt8>) -> Result<ControlRequest, Rejection> {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(line))
        } catch {
            return .failure(Rejection(id: nil, error: ControlError(.badRequest, "not valid JSON: \(Self.describe(error))")))
        }
        guard case .object(let fields) = root else {
            return .failure(Rejection(id: nil, error: ControlError(.badRequest, "a request is a JSON object, not \(root.typeName)")))
        }
        var id: Int?
        switch fields["id"] {
        case nil, .null?:
            id = nil
        case let value?:
            guard let integer = value.integer else {
                return .failure(Rejection(id: nil, error: ControlError(.badRequest, "id must be an integer, not \(value.typeName)")))
            }
            id = integer
        }
        guard let command = fields["cmd"] else {
            return .failure(Rejection(id: id, error: ControlError(.badRequest, "missing \"cmd\"")))
        }
        guard case .string(let cmd) = command else {
            return .failure(Rejection(id: id, error: ControlError(.badRequest, "cmd must be a string, not \(command.typeName)")))
        }
        switch fields["args"] {
        case nil, .null?:
            return .success(ControlRequest(id: id, cmd: cmd))
        case .object(let args)?:
            return .success(ControlRequest(id: id, cmd: cmd, args: args))
        case let other?:
            return .failure(Rejection(id: id, error: ControlError(.badRequest, "args must be an object, not \(other.typeName)")))
        }
    }

    /// A short reason from a decoding error, without Foundation's long debug description.
    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "unreadable"
    }
}

import Foundation

/// One response line: `{"id": 7, "ok": true, "result": {...}}` or
/// `{"id": 7, "ok": false, "error": {"code": "camera_offline", "message": "..."}}`.
/// The daemon encodes it with a concrete result type; `remotairctl` decodes it with the same type.
public struct ControlResponse<Result: Codable & Sendable>: Codable, Sendable {
    public var id: Int?
    public var ok: Bool
    public var result: Result?
    public var error: ControlError?

    public init(id: Int?, result: Result) {
        self.id = id
        self.ok = true
        self.result = result
        self.error = nil
    }

    public init(id: Int?, error: ControlError) {
        self.id = id
        self.ok = false
        self.result = nil
        self.error = error
    }

    enum CodingKeys: String, CodingKey { case id, ok, result, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // id is always present (null when the request had none) so clients can rely on the key.
        try container.encode(id, forKey: .id)
        try container.encode(ok, forKey: .ok)
        try container.encodeIfPresent(result, forKey: .result)
        try container.encodeIfPresent(error, forKey: .error)
    }
}

/// An empty result for error responses whose result type does not matter.
public struct NoResult: Codable, Sendable, Equatable {
    public init() {}
}

/// Encodes responses as single lines of JSON ending in `\n`.
public enum ResponseLine {
    /// Sorted keys keep lines stable for tests and people reading `socat` output.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func success<R: Codable & Sendable>(id: Int?, _ result: R) -> [UInt8] {
        encode(ControlResponse(id: id, result: result))
    }

    public static func failure(id: Int?, _ error: ControlError) -> [UInt8] {
        encode(ControlResponse<NoResult>(id: id, error: error))
    }

    static func encode<R>(_ response: ControlResponse<R>) -> [UInt8] {
        do {
            return Array(try encoder().encode(response)) + [UInt8(ascii: "\n")]
        } catch {
            // Only non-finite doubles fail to encode; report that instead of a broken line.
            let fallback = ControlResponse<NoResult>(id: response.id, error: ControlError(.internal, "result could not be encoded: \(error)"))
            return Array((try? encoder().encode(fallback)) ?? Data("{\"id\":null,\"ok\":false}".utf8)) + [UInt8(ascii: "\n")]
        }
    }
}

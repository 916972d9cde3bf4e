import CMosquitto

/// A failed MQTT operation: the libmosquitto error code or the broker's MQTT 5 reason code, its text,
/// and the call or packet it came from. Carries no secrets (libmosquitto's messages name none).
public struct MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A libmosquitto call or its network loop returned `MOSQ_ERR_*` (`code`).
        case library
        /// The broker refused CONNECT: `code` is the CONNACK reason code.
        case refused
        /// The broker answered PUBLISH or SUBSCRIBE with a failure: `code` is the PUBACK/SUBACK reason code.
        case rejected
        /// The connection ended before the broker acknowledged (the message may or may not have arrived).
        case connectionLost
        /// The call does not fit the client's state (connect while connected, publish before connect).
        case misuse
    }

    public var kind: Kind
    public var code: Int32
    /// The libmosquitto function or the MQTT packet (`CONNACK`, `PUBACK`, `SUBACK`) that reported it.
    public var call: String
    /// `mosquitto_strerror` or `mosquitto_reason_string` of the code.
    public var message: String
    /// The last error libmosquitto logged for this connection (OpenSSL's reason for a TLS failure), if any.
    public var detail: String?

    public init(kind: Kind, code: Int32, call: String, message: String, detail: String? = nil) {
        self.kind = kind
        self.code = code
        self.call = call
        self.message = message
        self.detail = detail
    }

    static func library(_ code: Int32, call: String, detail: String? = nil) -> MQTTError {
        let text = mosquitto_strerror(code).map { String(cString: $0) } ?? "error \(code)"
        // MOSQ_ERR_ERRNO: the text is errno's, which libmosquitto leaves set.
        return MQTTError(kind: .library, code: code, call: call, message: text, detail: detail)
    }

    static func reason(_ kind: Kind, _ code: Int32, packet: String) -> MQTTError {
        let text = mosquitto_reason_string(code).map { String(cString: $0) } ?? "reason code \(code)"
        return MQTTError(kind: kind, code: code, call: packet, message: text)
    }

    /// True when trying again cannot help until someone changes certificates, credentials or the broker's
    /// policy: a TLS failure (unknown CA, untrusted or expired certificate), a refused login, or an ACL
    /// denial. Network failures (refused TCP connection, lost connection, timeouts) are false.
    public var isAuthenticationFailure: Bool {
        switch kind {
        case .library:
            return [MOSQ_ERR_TLS, MOSQ_ERR_TLS_HANDSHAKE, MOSQ_ERR_AUTH, MOSQ_ERR_ACL_DENIED, MOSQ_ERR_CONN_REFUSED]
                .map { Int32($0.rawValue) }.contains(code)
        case .refused, .rejected:
            // 0x85 client identifier not valid, 0x86 bad user name or password, 0x87 not authorized,
            // 0x8A banned, 0x8C bad authentication method.
            return [0x85, 0x86, 0x87, 0x8A, 0x8C].contains(code)
        case .connectionLost, .misuse:
            return false
        }
    }

    public var description: String {
        var text = "\(call): \(message) (\(kind == .library ? "error" : "reason code") \(code))"
        if let detail { text += ": \(detail)" }
        return text
    }
}

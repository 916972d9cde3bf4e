#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `mqtt` section: live alarms, status and telemetry to an MQTT broker (AWS IoT Core, Mosquitto,
/// Home Assistant). Absent means no MQTT at all. Files are checked here, at start-up and reload, so a
/// missing certificate or a readable key is named before the daemon runs.
public struct MQTTSettings: Sendable, Equatable {
    /// AWS IoT Core's limit on the slashes in a topic; every topic we publish must stay within it.
    public static let maxTopicSlashes = 7
    /// AWS IoT Core's limit on a topic's length in bytes.
    public static let maxTopicBytes = 256
    /// Suffixes appended to the prefix; the longest decides how deep the prefix may be.
    public static let topicSuffixes = ["status", "alarms", "alarms/active", "events", "telemetry", "cmd/capture", "cmd/capture/result"]

    public var host: String
    public var port: Int
    /// True for `mqtts://` (TLS).
    public var tls: Bool
    /// MQTT client id; the device id by default (AWS IoT Core's thing name).
    public var clientID: String
    /// PEM certificate authorities for the broker's certificate (required with mqtts).
    public var caFile: String?
    /// PEM client certificate and key for mutual TLS; both or neither. The key is mode 0600 or stricter.
    public var certFile: String?
    public var keyFile: String?
    public var username: String?
    /// File holding the password (first line; mode 0600 or stricter). The password itself is read when
    /// connecting and never stored here, so it cannot reach a log through this value.
    public var passwordFile: String?
    /// Topics are `{topic_prefix}/status`, `/alarms`, `/alarms/active`, `/telemetry`, `/cmd/capture`.
    public var topicPrefix: String
    public var keepalive: Duration = .seconds(60)
    /// Air-quality readings go out this often (QoS 0, dropped while offline).
    public var telemetryInterval: Duration = .seconds(60)
    /// Retained Home Assistant discovery documents under `homeassistant/`.
    public var homeAssistantDiscovery = false
    /// Subscribe to `{topic_prefix}/cmd/capture`; off by default (not even subscribed).
    public var acceptCommands = false

    public init(host: String, port: Int, tls: Bool, clientID: String, topicPrefix: String) {
        self.host = host
        self.port = port
        self.tls = tls
        self.clientID = clientID
        self.topicPrefix = topicPrefix
    }

    init(_ map: ConfigMapping, deviceID: String) throws(ConfigurationError) {
        let urlNode = try map.required("url")
        let text = try urlNode.string()
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["mqtt", "mqtts"].contains(scheme) else {
            throw urlNode.error(.invalid("'\(text)' must be mqtts://host:8883 or mqtt://host:1883"))
        }
        guard let host = url.host, !host.isEmpty else { throw urlNode.error(.invalid("'\(text)' has no host")) }
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil, url.password == nil else {
            throw urlNode.error(.invalid("'\(text)' must be only scheme, host and port (credentials go in username and password_file)"))
        }
        self.host = host
        tls = scheme == "mqtts"
        port = url.port ?? (tls ? 8883 : 1883)
        guard (1...65535).contains(port) else { throw urlNode.error(.outOfRange("port \(port) is not within 1...65535")) }

        let clientNode = map.optional("client_id")
        clientID = try clientNode?.string() ?? deviceID
        if let clientNode, clientID.isEmpty || clientID.utf8.count > 128 || clientID.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
            throw clientNode.error(.invalid("'\(clientID)' must be 1 to 128 bytes without spaces or control characters"))
        }

        caFile = try Self.existingFile(map.optional("ca_file"), secret: false)
        certFile = try Self.existingFile(map.optional("cert_file"), secret: false)
        keyFile = try Self.existingFile(map.optional("key_file"), secret: true)
        if tls, caFile == nil {
            throw ConfigurationError(file: map.parent.source.file, keyPath: Self.key(map, "ca_file"), line: urlNode.line,
                                     problem: .invalid("required with mqtts:// (the CA that signs the broker's certificate, e.g. AmazonRootCA1.pem)"))
        }
        if (certFile == nil) != (keyFile == nil) {
            throw ConfigurationError(file: map.parent.source.file, keyPath: Self.key(map, certFile == nil ? "cert_file" : "key_file"), line: map.parent.line,
                                     problem: .invalid("cert_file and key_file go together (mutual TLS)"))
        }
        if !tls, let node = map.optional("ca_file") ?? map.optional("cert_file") {
            throw node.error(.invalid("TLS files need an mqtts:// url; with mqtt:// they would be ignored"))
        }

        let userNode = map.optional("username")
        username = try userNode?.string()
        if let userNode, username?.isEmpty != false { throw userNode.error(.invalid("empty user name")) }
        let passwordNode = map.optional("password_file")
        passwordFile = try Self.existingFile(passwordNode, secret: true)
        if let passwordNode, username == nil { throw passwordNode.error(.invalid("password_file needs a username")) }

        let prefixNode = map.optional("topic_prefix")
        let prefixText = try prefixNode?.string() ?? "remotair/{device_id}"
        topicPrefix = prefixText.replacingOccurrences(of: "{device_id}", with: deviceID)
        if let problem = Self.topicPrefixProblem(topicPrefix) {
            if let prefixNode { throw prefixNode.error(.invalid("'\(prefixText)' \(problem)")) }
            throw ConfigurationError(file: map.parent.source.file, keyPath: Self.key(map, "topic_prefix"), line: map.parent.line,
                                     problem: .invalid("the default 'remotair/\(deviceID)' \(problem)"))
        }

        keepalive = try map.duration("keepalive", default: keepalive, in: .seconds(5)...(.seconds(1200)))
        guard keepalive.components.attoseconds == 0 else {
            throw ConfigurationError(file: map.parent.source.file, keyPath: Self.key(map, "keepalive"), line: map.parent.line,
                                     problem: .invalid("must be whole seconds (MQTT counts keepalive in seconds)"))
        }
        telemetryInterval = try map.duration("telemetry_interval", default: telemetryInterval, in: .seconds(1)...(.seconds(86400)))
        homeAssistantDiscovery = try map.bool("home_assistant_discovery", default: homeAssistantDiscovery)
        acceptCommands = try map.bool("accept_commands", default: acceptCommands)
    }

    /// The full topic for a suffix such as `status` or `alarms/active`.
    public func topic(_ suffix: String) -> String { "\(topicPrefix)/\(suffix)" }

    /// Keepalive in whole seconds, as libmosquitto takes it.
    public var keepaliveSeconds: Int { Int(keepalive.components.seconds) }

    private static func key(_ map: ConfigMapping, _ key: String) -> String {
        map.parent.keyPath.isEmpty ? key : "\(map.parent.keyPath).\(key)"
    }

    /// Why a prefix cannot be used (nil when it can): MQTT forbids wildcards in published topics, `$`
    /// topics are the broker's, and AWS IoT Core caps slashes and length over the longest topic we publish.
    static func topicPrefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "is empty" }
        if prefix.hasPrefix("/") || prefix.hasSuffix("/") || prefix.contains("//") { return "must not start or end with '/' or have empty levels" }
        if prefix.hasPrefix("$") { return "must not start with '$' (reserved for the broker)" }
        if prefix.unicodeScalars.contains(where: { $0 == "+" || $0 == "#" || $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain '+', '#' or control characters"
        }
        let slashes = prefix.filter { $0 == "/" }.count
        let deepest = topicSuffixes.map { $0.filter { $0 == "/" }.count + 1 }.max() ?? 1
        if slashes + deepest > maxTopicSlashes {
            return "has \(slashes) '/': with '/\(topicSuffixes.last ?? "")' a topic would have \(slashes + deepest), more than AWS IoT Core's \(maxTopicSlashes)"
        }
        let longest = topicSuffixes.map { prefix.utf8.count + 1 + $0.utf8.count }.max() ?? 0
        if longest > maxTopicBytes { return "is too long: topics under it would exceed \(maxTopicBytes) bytes" }
        return nil
    }

    /// A file that must exist and be a regular file; `secret` ones must not be readable by group or others.
    static func existingFile(_ node: ConfigNode?, secret: Bool) throws(ConfigurationError) -> String? {
        guard let node else { return nil }
        let path = try node.path()
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw node.error(.invalid("\(path): \(String(cString: strerror(errno)))"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw node.error(.invalid("\(path) is not a regular file")) }
        let mode = info.st_mode & 0o777
        if secret, mode & 0o077 != 0 {
            throw node.error(.invalid("\(path) has mode \(String(mode, radix: 8)); a key or password file must be 0600 or stricter (chmod 600 \(path))"))
        }
        return path
    }
}

import ControlProtocol

/// The `control` section: the Unix control socket that `remotairctl` talks to.
public struct ControlSettings: Sendable, Equatable {
    /// Socket path; nil means `<runtime_dir>/control.sock`. Ignored under systemd socket activation.
    public var socket: String?
    /// Group that owns the socket file; members may talk to the daemon.
    public var group: String = "remotair"
    /// File mode of the socket (read/write is what connecting needs).
    public var mode: UInt32 = 0o660
    /// When either allow-list is non-empty, only these uids (and root) may send commands.
    public var allowUIDs: [UInt32] = []
    /// When either allow-list is non-empty, members of these groups may send commands.
    public var allowGroups: [String] = []
    /// A connection with no complete request for this long is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// Connections served at once; one more gets an error line and is closed.
    public var maxConnections: Int = 16
    /// SCD4x forced recalibration changes the sensor for good, so it is refused unless enabled here.
    public var allowCO2Calibration = false

    public init() {}

    /// The socket path, defaulting into the runtime directory.
    public func socketPath(runtimeDirectory: String) -> String {
        socket ?? (runtimeDirectory.hasSuffix("/") ? runtimeDirectory : runtimeDirectory + "/") + ControlSocketPath.fileName
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        if let node = map.optional("socket") {
            let path = try node.path()
            // sun_path holds 108 bytes including the terminating NUL.
            guard path.utf8.count < 108 else { throw node.error(.invalid("socket path is longer than 107 bytes")) }
            socket = path
        }
        group = try map.string("group", default: group)
        if let node = map.optional("mode") {
            mode = try Self.octalMode(node)
        }
        if let node = map.optional("allow_uids") {
            allowUIDs = try node.list().map { (item: ConfigNode) throws(ConfigurationError) -> UInt32 in
                UInt32(try item.int(in: 0...Int(UInt32.max - 1)))
            }
        }
        if let node = map.optional("allow_groups") {
            allowGroups = try node.list().map { (item: ConfigNode) throws(ConfigurationError) -> String in try item.string() }
        }
        idleTimeout = try map.duration("idle_timeout", default: idleTimeout, in: .milliseconds(100)...(.seconds(3600)))
        maxConnections = try map.int("max_connections", default: maxConnections, in: 1...1024)
        allowCO2Calibration = try map.bool("allow_co2_calibration", default: allowCO2Calibration)
    }

    /// Reads `0660` as octal (YAML would read it as decimal 660); the owner must keep read and write.
    static func octalMode(_ node: ConfigNode) throws(ConfigurationError) -> UInt32 {
        var text = try node.string()
        if text.lowercased().hasPrefix("0o") { text = String(text.dropFirst(2)) }
        guard let value = UInt32(text, radix: 8), value <= 0o777 else {
            throw node.error(.wrongType(expected: "an octal file mode such as 0660"))
        }
        guard value & 0o600 == 0o600 else {
            throw node.error(.invalid("mode \(text) must give the owner read and write (0600)"))
        }
        return value
    }
}

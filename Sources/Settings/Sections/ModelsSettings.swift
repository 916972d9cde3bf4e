/// The `models` section (issue 22): signed model bundles pulled from `{uplink.prefix}/models/{channel}/` through
/// the uplink's endpoint. Absent means off: the model is the one in the calibration directory, changed only by hand.
public struct ModelsSettings: Sendable, Equatable {
    /// The channel this board follows (`canary`, `stable`, ...): lower-case letters, digits, '_', '-'.
    public var channel: String
    /// How often the channel's latest.json is read.
    public var pollInterval: Duration = .seconds(15 * 60)
    /// Ed25519 public keys (PEM files from `publish-model --new-key`); a bundle signed by any of them is trusted.
    public var publicKeys: [String]
    /// Accept a bundle whose version is not newer than the running model's (off: a replayed old bundle is refused).
    public var allowDowngrade = false

    public init(channel: String, publicKeys: [String]) {
        self.channel = channel
        self.publicKeys = publicKeys
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        let channelNode = try map.required("channel")
        channel = try channelNode.string()
        guard Self.isValidChannel(channel) else {
            throw channelNode.error(.invalid("'\(channel)' must be 1 to 32 of a-z, 0-9, '_', '-', starting with a letter or digit (it is part of object keys)"))
        }
        pollInterval = try map.duration("poll_interval", default: pollInterval, in: .seconds(1)...(.seconds(7 * 86400)))
        let keysNode = try map.required("public_keys")
        publicKeys = try keysNode.list().map { (item: ConfigNode) throws(ConfigurationError) -> String in try item.path() }
        guard !publicKeys.isEmpty else { throw keysNode.error(.invalid("list at least one public key file (publish-model --new-key writes KEY.pub)")) }
        allowDowngrade = try map.bool("allow_downgrade", default: allowDowngrade)
    }

    static func isValidChannel(_ channel: String) -> Bool {
        let bytes = Array(channel.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.enumerated().allSatisfy { index, c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || (index > 0 && (c == UInt8(ascii: "_") || c == UInt8(ascii: "-")))
        }
    }
}

import Foundation

/// The `uplink` section: where the outbox uploads to. An `https://` (or `http://`) S3-compatible endpoint,
/// or `file:///path`, which writes the same key layout into a local folder (demo, offline boards).
public struct UplinkSettings: Sendable, Equatable {
    /// How object URLs are formed: `bucket.host/key` (AWS default) or `host/bucket/key` (MinIO, moto, custom endpoints).
    public enum Addressing: String, Sendable, Equatable {
        case path, virtual
    }

    /// Base URL of the storage service, or `file:///folder` (`file:relative/folder` is resolved against the
    /// configuration file's folder); nil disables the uplink (items stay queued).
    public var endpoint: URL?
    public var bucket: String = "remotair"
    public var region: String = "us-east-1"
    /// First path segment of every key: `{prefix}/{device_id}/{kind}/{yyyy}/{mm}/{dd}/{item_id}.{jpg|json}`.
    public var prefix: String = "remotair"
    public var addressing: Addressing = .path
    /// File with the access key (mode 0600); nil means the environment (`AWS_ACCESS_KEY_ID`, ...).
    public var credentialsFile: String?
    /// Most uploads in flight at once.
    public var concurrency: Int = 2
    /// Upload bandwidth cap in bytes per second; nil means uncapped.
    public var bandwidthLimit: Int?
    /// Label attribute name in the Ground Truth manifest line of sidecars (the toolchain's build-manifest reads it).
    public var labelAttribute: String = "duct-condition"
    /// How often a paused uplink (bad credentials, clock skew) probes again by itself.
    public var pauseProbeInterval: Duration = .seconds(15 * 60)

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        if let node = map.optional("endpoint") {
            let text = try node.string()
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["https", "http", "file"].contains(scheme) else {
                throw node.error(.invalid("'\(text)' must be an https:// (or http://) URL or file:///absolute/path"))
            }
            if scheme == "file" {
                guard url.host == nil || url.host == "" else {
                    throw node.error(.invalid("'\(text)' must be file:///absolute/path (three slashes) or file:relative/path"))
                }
                guard !url.path.isEmpty else { throw node.error(.invalid("'\(text)' names no folder")) }
                if !url.path.hasPrefix("/") {
                    // file:relative/path is resolved against this file's folder, like every other relative path.
                    let directory = node.source.directory.isEmpty ? FileManager.default.currentDirectoryPath : node.source.directory
                    let absolute = URL(fileURLWithPath: directory).appendingPathComponent(url.path).standardizedFileURL
                    endpoint = absolute
                }
            } else {
                guard let host = url.host, !host.isEmpty else { throw node.error(.invalid("'\(text)' has no host")) }
                guard url.query == nil, url.path.isEmpty || url.path == "/" else {
                    throw node.error(.invalid("'\(text)' must not have a path or query; put the bucket in uplink.bucket and the path in uplink.prefix"))
                }
            }
            if endpoint == nil { endpoint = url }
        }
        let bucketNode = map.optional("bucket")
        bucket = try bucketNode?.string() ?? bucket
        if let bucketNode, !Self.isValidBucket(bucket) {
            throw bucketNode.error(.invalid("'\(bucket)' is not a valid bucket name (3 to 63 of a-z, 0-9, '.', '-')"))
        }
        region = try map.string("region", default: region)
        let prefixNode = map.optional("prefix")
        prefix = try prefixNode?.string() ?? prefix
        if let prefixNode, !Self.isValidPrefix(prefix) {
            throw prefixNode.error(.invalid("'\(prefix)' must be segments of letters, digits, '.', '_', '-' separated by '/', without leading or trailing '/'"))
        }
        addressing = Addressing(rawValue: try map.oneOf("addressing", ["path", "virtual"], default: addressing.rawValue)) ?? .path
        credentialsFile = try map.optional("credentials_file")?.path()
        concurrency = try map.int("concurrency", default: concurrency, in: 1...16)
        if let node = map.optional("bandwidth_limit") {
            bandwidthLimit = try node.byteCount(in: 1024...(1 << 34))
        }
        let labelNode = map.optional("label_attribute")
        labelAttribute = try labelNode?.string() ?? labelAttribute
        if let labelNode, labelAttribute.isEmpty || labelAttribute.count > 127 || labelAttribute.hasSuffix("-metadata") {
            throw labelNode.error(.invalid("'\(labelAttribute)' must be 1 to 127 characters and not end in -metadata"))
        }
        pauseProbeInterval = try map.duration("pause_probe_interval", default: pauseProbeInterval, in: .seconds(10)...(.seconds(86400)))
    }

    static func isValidBucket(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }

    static func isValidPrefix(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        return prefix.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".." && segment.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
            }
        }
    }
}

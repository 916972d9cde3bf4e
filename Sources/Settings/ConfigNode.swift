import Foundation
import Yams

/// Where a configuration tree came from: its file (for error messages, and to resolve relative paths)
/// and the environment (for secrets that must not sit in the file).
public struct ConfigSource: Sendable {
    public var file: String
    public var environment: [String: String]

    public init(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.file = file
        self.environment = environment
    }

    /// The folder that relative paths in this file are resolved against.
    public var directory: String { (file as NSString).deletingLastPathComponent }

    /// Parses YAML text into the root node. An empty document is an empty mapping.
    public func parse(_ text: String) throws(ConfigurationError) -> ConfigNode {
        do {
            let node = try Yams.compose(yaml: text, .basic) ?? ConfigNode.emptyMapping
            return ConfigNode(node: node, keyPath: "", source: self)
        } catch {
            throw ConfigurationError(file: file, keyPath: "", line: Self.line(of: error), problem: .syntax("\(error)"))
        }
    }

    /// Reads and parses a file; unreadable files get a `.unreadable` error naming the reason.
    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> ConfigNode {
        let source = ConfigSource(file: file, environment: environment)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw ConfigurationError(file: file, keyPath: "", problem: .unreadable(reason))
        }
        guard data.count <= 1 << 20 else {
            throw ConfigurationError(file: file, keyPath: "", problem: .unreadable("larger than 1 MiB"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: file, keyPath: "", problem: .unreadable("not UTF-8 text"))
        }
        return try source.parse(text)
    }

    private static func line(of error: any Error) -> Int? {
        if let yamlError = error as? YamlError {
            switch yamlError {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
                return mark.line
            default:
                return nil
            }
        }
        return nil
    }
}

/// One value in a configuration tree with its key path, so every error names where it happened.
public struct ConfigNode {
    /// Yams nodes are made with the basic resolver: this reader types every scalar itself (int(), bool(),
    /// duration()...), and Yams' default resolver (also the default of a node's tag) compiles
    /// NSRegularExpressions, which load ICU: about 2 MB resident in the daemon for nothing.
    static var emptyMapping: Node { .mapping(Node.Mapping([], Tag(.implicit, .basic))) }

    let node: Node
    /// Dotted key path from the root, e.g. `cameras[0].device`.
    public let keyPath: String
    public let source: ConfigSource

    init(node: Node, keyPath: String, source: ConfigSource) {
        self.node = node
        self.keyPath = keyPath
        self.source = source
    }

    /// 1-based line of this value in its file.
    public var line: Int? { node.mark.map { $0.line } }

    /// An error about this value.
    public func error(_ problem: ConfigurationError.Problem) -> ConfigurationError {
        ConfigurationError(file: source.file, keyPath: keyPath, line: line, problem: problem)
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            return true
        }
        return false
    }

    private func scalar(_ expected: String) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error(.wrongType(expected: expected)) }
        return scalar.string
    }

    public func mapping() throws(ConfigurationError) -> ConfigMapping {
        if isNull { return ConfigMapping(entries: [], parent: self) }
        guard case .mapping(let mapping) = node else { throw error(.wrongType(expected: "a mapping of keys to values")) }
        var entries: [(String, Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw ConfigurationError(file: source.file, keyPath: keyPath, line: key.mark?.line, problem: .wrongType(expected: "plain keys"))
            }
            if entries.contains(where: { $0.0 == scalar.string }) {
                throw ConfigurationError(file: source.file, keyPath: join(scalar.string), line: key.mark?.line, problem: .invalid("key appears twice"))
            }
            entries.append((scalar.string, value))
        }
        return ConfigMapping(entries: entries, parent: self)
    }

    public func list() throws(ConfigurationError) -> [ConfigNode] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw error(.wrongType(expected: "a list")) }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, keyPath: "\(keyPath)[\(index)]", source: source)
        }
    }

    public func string() throws(ConfigurationError) -> String {
        try scalar("a string")
    }

    public func bool() throws(ConfigurationError) -> Bool {
        switch try scalar("true or false") {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: throw error(.wrongType(expected: "true or false"))
        }
    }

    /// An integer, written in decimal or with a 0x, 0o or 0b prefix (I2C addresses read best in hex).
    public func int(in range: ClosedRange<Int>? = nil) throws(ConfigurationError) -> Int {
        let text = try scalar("an integer").replacingOccurrences(of: "_", with: "")
        let negative = text.hasPrefix("-")
        let unsigned = negative || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        let (radix, digits): (Int, Substring) = switch unsigned.prefix(2).lowercased() {
        case "0x": (16, unsigned.dropFirst(2))
        case "0o": (8, unsigned.dropFirst(2))
        case "0b": (2, unsigned.dropFirst(2))
        default: (10, unsigned)
        }
        // The sign is parsed with the digits, so Int.min reads without negating a magnitude that Int
        // cannot hold (which trapped); a second sign (`--5`, `-0x-8`) is no integer.
        guard let first = digits.first, first != "-", first != "+",
              let result = Int((negative ? "-" : "") + digits, radix: radix) else {
            throw error(.wrongType(expected: "an integer"))
        }
        if let range, !range.contains(result) {
            throw error(.outOfRange("\(result) is not within \(range.lowerBound)...\(range.upperBound)"))
        }
        return result
    }

    public func double(in range: ClosedRange<Double>? = nil) throws(ConfigurationError) -> Double {
        let text = try scalar("a number")
        guard let value = Double(text), value.isFinite else { throw error(.wrongType(expected: "a number")) }
        if let range, !range.contains(value) {
            throw error(.outOfRange("\(value) is not within \(range.lowerBound)...\(range.upperBound)"))
        }
        return value
    }

    /// What any duration read here may be: at most what Int64 nanoseconds hold (about 292 years), so a
    /// value never overflows when a service converts it or adds it to an instant. Readers pass ranges of
    /// their own, well inside.
    public static let durationLimits: ClosedRange<Duration> = .zero ... .milliseconds(Int64.max / 1_000_000)

    /// A duration: `500ms`, `30s`, `15m`, `2h`, `7d`, or a plain number of seconds, within `range` (and
    /// always within `durationLimits`).
    public func duration(in range: ClosedRange<Duration>? = nil) throws(ConfigurationError) -> Duration {
        let text = try scalar("a duration such as 500ms, 30s, 15m, 2h").trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var seconds: Double?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)) { seconds = number * scale; break }
        }
        if seconds == nil { seconds = Double(text) }
        guard let seconds, seconds.isFinite, seconds >= 0 else {
            throw error(.wrongType(expected: "a duration such as 500ms, 30s, 15m, 2h"))
        }
        // Range-checked while still a Double: a value past 64 bits (99999999999999999999d,
        // 9223372036854775807) made Int64(_:) below trap (SIGILL) before any range was looked at.
        let milliseconds = (seconds * 1000).rounded()
        for limits in [range, Self.durationLimits].compactMap({ $0 }) {
            guard milliseconds >= Self.milliseconds(limits.lowerBound), milliseconds <= Self.milliseconds(limits.upperBound) else {
                throw error(.outOfRange("\(text) is not within \(limits.lowerBound)...\(limits.upperBound)"))
            }
        }
        let value = Duration.milliseconds(Int64(milliseconds))
        // A sub-millisecond bound (none today) could still exclude the rounded value.
        if let range, !range.contains(value) {
            throw error(.outOfRange("\(text) is not within \(range.lowerBound)...\(range.upperBound)"))
        }
        return value
    }

    /// A duration as a Double number of milliseconds, for comparing with one not yet converted.
    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// A path; relative paths are resolved against the folder of the file they appear in.
    public func path() throws(ConfigurationError) -> String {
        let text = try scalar("a path")
        guard !text.isEmpty else { throw error(.invalid("empty path")) }
        if text.hasPrefix("/") { return text }
        let directory = source.directory.isEmpty ? "." : source.directory
        return (directory as NSString).appendingPathComponent(text)
    }

    /// One of a fixed set of words.
    public func oneOf(_ allowed: [String]) throws(ConfigurationError) -> String {
        let text = try scalar("one of \(allowed.joined(separator: ", "))")
        guard allowed.contains(text) else {
            throw error(.invalid("'\(text)' is not one of \(allowed.joined(separator: ", "))"))
        }
        return text
    }

    fileprivate func join(_ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }
}

/// A mapping being read. Every key must be consumed by the reader; `finish()` rejects the rest as unknown,
/// so a typo never silently falls back to a default.
public final class ConfigMapping {
    private let entries: [(String, Node)]
    private var consumed: Set<String> = []
    public let parent: ConfigNode

    init(entries: [(String, Node)], parent: ConfigNode) {
        self.entries = entries
        self.parent = parent
    }

    public var keys: [String] { entries.map(\.0) }

    /// The value under `key`, or nil when absent or null.
    public func optional(_ key: String) -> ConfigNode? {
        consumed.insert(key)
        guard let node = entries.first(where: { $0.0 == key })?.1 else { return nil }
        let child = ConfigNode(node: node, keyPath: parent.join(key), source: parent.source)
        return child.isNull ? nil : child
    }

    public func required(_ key: String) throws(ConfigurationError) -> ConfigNode {
        guard let node = optional(key) else {
            throw ConfigurationError(file: parent.source.file, keyPath: parent.join(key), line: parent.line, problem: .missingKey)
        }
        return node
    }

    /// A secret: the environment variable wins over the file, so credentials can stay out of the file.
    public func secret(_ key: String, environment name: String) throws(ConfigurationError) -> String? {
        if let value = parent.source.environment[name], !value.isEmpty { return value }
        return try optional(key)?.string()
    }

    /// Rejects keys nobody asked for.
    public func finish() throws(ConfigurationError) {
        for (key, node) in entries where !consumed.contains(key) {
            throw ConfigurationError(file: parent.source.file, keyPath: parent.join(key), line: node.mark?.line, problem: .unknownKey)
        }
    }

    // Convenience readers with defaults.

    public func string(_ key: String, default value: String) throws(ConfigurationError) -> String {
        try optional(key)?.string() ?? value
    }

    public func bool(_ key: String, default value: Bool) throws(ConfigurationError) -> Bool {
        try optional(key)?.bool() ?? value
    }

    public func int(_ key: String, default value: Int, in range: ClosedRange<Int>? = nil) throws(ConfigurationError) -> Int {
        try optional(key)?.int(in: range) ?? value
    }

    public func double(_ key: String, default value: Double, in range: ClosedRange<Double>? = nil) throws(ConfigurationError) -> Double {
        try optional(key)?.double(in: range) ?? value
    }

    public func duration(_ key: String, default value: Duration, in range: ClosedRange<Duration>? = nil) throws(ConfigurationError) -> Duration {
        try optional(key)?.duration(in: range) ?? value
    }

    public func oneOf(_ key: String, _ allowed: [String], default value: String) throws(ConfigurationError) -> String {
        try optional(key)?.oneOf(allowed) ?? value
    }

    /// A nested mapping read by `body`, which must consume its keys; absent sections read as empty.
    public func section<T>(_ key: String, _ body: (ConfigMapping) throws(ConfigurationError) -> T) throws(ConfigurationError) -> T {
        let mapping: ConfigMapping
        if let node = optional(key) {
            mapping = try node.mapping()
        } else {
            mapping = ConfigMapping(entries: [], parent: ConfigNode(node: ConfigNode.emptyMapping, keyPath: parent.join(key), source: parent.source))
        }
        let value = try body(mapping)
        try mapping.finish()
        return value
    }
}

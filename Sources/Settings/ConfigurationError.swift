/// A configuration or calibration file that cannot be used, naming the file, the key path and the line.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// The file could not be read (missing, permissions, not UTF-8).
        case unreadable(String)
        /// The YAML itself does not parse.
        case syntax(String)
        /// A key this version does not know: a typo, or a setting from another version.
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// The value has the wrong YAML type (a list where a number belongs).
        case wrongType(expected: String)
        /// A number outside the allowed range.
        case outOfRange(String)
        /// Anything else wrong with the value.
        case invalid(String)
    }

    /// The file the value came from.
    public var file: String
    /// The dotted key path, e.g. `sensors[1].address`; empty for the whole file.
    public var keyPath: String
    /// 1-based line in the file, when known.
    public var line: Int?
    public var problem: Problem

    public init(file: String, keyPath: String, line: Int? = nil, problem: Problem) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.problem = problem
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        let subject = keyPath.isEmpty ? "" : " \(keyPath):"
        switch problem {
        case .unreadable(let why): return "\(location): cannot read: \(why)"
        case .syntax(let why): return "\(location): not valid YAML: \(why)"
        case .unknownKey: return "\(location):\(subject) unknown key"
        case .missingKey: return "\(location):\(subject) required key is missing"
        case .wrongType(let expected): return "\(location):\(subject) expected \(expected)"
        case .outOfRange(let why): return "\(location):\(subject) out of range: \(why)"
        case .invalid(let why): return "\(location):\(subject) \(why)"
        }
    }
}

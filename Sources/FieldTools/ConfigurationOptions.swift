import Settings

/// The options every command that reads configuration shares (`--config`, `--state-dir`, `--simulate`,
/// `--log-level`), and how they override the file.
public struct ConfigurationOptions: Sendable, Equatable {
    public var file: String
    public var stateDirectory: String?
    public var simulate: Bool
    public var logLevel: String?

    public init(file: String = DaemonConfiguration.defaultPath, stateDirectory: String? = nil, simulate: Bool = false, logLevel: String? = nil) {
        self.file = file
        self.stateDirectory = stateDirectory
        self.simulate = simulate
        self.logLevel = logLevel
    }

    /// Loads and validates configuration, applying command-line overrides; a problem is one clear line (exit 1).
    public func load() throws(ToolFailure) -> DaemonConfiguration {
        var configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(file: file)
        } catch {
            throw ToolFailure("\(error)")
        }
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if simulate { configuration.board = .simulated }
        if let logLevel {
            guard let level = LogLevelSetting(rawValue: logLevel) else {
                throw ToolFailure("--log-level: '\(logLevel)' is not one of \(LogLevelSetting.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = level
        }
        return configuration
    }
}

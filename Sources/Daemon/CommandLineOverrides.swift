import Settings

/// What remotaird's command line set over the configuration file (`--state-dir`, `--simulate`,
/// `--log-level`, `--scenario`). Kept apart from the configuration so a reload, which reads the file
/// again, applies the same overrides on top of it.
public struct CommandLineOverrides: Sendable, Equatable {
    public var stateDirectory: String?
    public var board: BoardKind?
    public var logLevel: LogLevelSetting?
    public var scenario: String?

    public init(stateDirectory: String? = nil, board: BoardKind? = nil, logLevel: LogLevelSetting? = nil, scenario: String? = nil) {
        self.stateDirectory = stateDirectory
        self.board = board
        self.logLevel = logLevel
        self.scenario = scenario
    }

    /// Sets every override given on top of what the file says.
    public func apply(to configuration: inout DaemonConfiguration) {
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let board { configuration.board = board }
        if let logLevel { configuration.logLevel = logLevel }
        if let scenario { configuration.simulation.scenario = scenario }
    }
}

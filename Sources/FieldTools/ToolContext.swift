import Foundation
import Settings
import Logging

/// What a command needs from its process, passed in so tests run commands in-process and read what they print:
/// where lines go, how logging is set up (once per process) and the environment.
public struct ToolContext: Sendable {
    /// One line of the command's output (stdout).
    public var output: @Sendable (String) -> Void
    /// One line on stderr, written as given (`error(_:)` adds the `remotaird: ` prefix).
    public var errorOutput: @Sendable (String) -> Void
    /// Sets up the process's log handler; called at most once per command, before any logger is made.
    public var bootstrapLogging: @Sendable (Logger.Level) -> Void
    public var environment: [String: String]

    public init(output: @escaping @Sendable (String) -> Void, errorOutput: @escaping @Sendable (String) -> Void,
                bootstrapLogging: @escaping @Sendable (Logger.Level) -> Void = { _ in }, environment: [String: String] = [:]) {
        self.output = output
        self.errorOutput = errorOutput
        self.bootstrapLogging = bootstrapLogging
        self.environment = environment
    }

    /// A message on stderr as remotaird prints them: `remotaird: <message>`.
    public func error(_ message: String) {
        errorOutput("remotaird: \(message)")
    }
}

/// The exit statuses the commands document.
public enum ExitStatus: Int32, Sendable, Equatable {
    case success = 0
    /// Invalid configuration, a failed capture, an image or input that failed.
    case failure = 1
    /// `classify` and `infer`: a usage error or a model that does not load.
    case usage = 2
}

/// A command stops with one line on stderr and an exit status.
public struct ToolFailure: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var status: ExitStatus

    public init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }

    public var description: String { message }
}

extension Logger.Level {
    init(_ setting: LogLevelSetting) {
        self = Logger.Level(rawValue: setting.rawValue) ?? .info
    }
}

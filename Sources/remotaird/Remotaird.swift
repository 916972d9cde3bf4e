// The daemon and its offline tools. `run` is what systemd starts; the other subcommands let a
// technician check configuration and hardware from a shell.
import ArgumentParser
import Daemon
import Foundation
import Journal
import Logging
import Inference
import Monitoring
import Settings
import Syscalls

@main
struct Remotaird: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remotaird",
        abstract: "Remotair duct monitor: air-quality sensors, duct cameras, on-device classifier, alarm uplink.",
        version: Daemon.version,
        subcommands: [Run.self, CheckConfig.self, SensorsCommand.self, Capture.self, Classify.self, Infer.self],
        defaultSubcommand: Run.self
    )

    /// Heap settings before anything large is allocated, then ArgumentParser's own entry point.
    static func main() async {
        Heap.mapLargeBlocksSeparately()
        await main(nil)
    }
}

/// Options every subcommand that reads configuration shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file.")
    var config: String = DaemonConfiguration.defaultPath

    @Option(name: .long, help: "State directory (overrides state_dir).")
    var stateDir: String?

    @Flag(name: .long, help: "Use the simulated board instead of real devices.")
    var simulate = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// Loads and validates configuration, applying command-line overrides; exits 1 with one clear line on error.
    func load() throws -> DaemonConfiguration {
        var configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(file: config)
        } catch {
            throw failure("\(error)")
        }
        if let stateDir { configuration.stateDirectory = stateDir }
        if simulate { configuration.board = .simulated }
        if let logLevel {
            guard let level = LogLevelSetting(rawValue: logLevel) else {
                throw failure("--log-level: '\(logLevel)' is not one of \(LogLevelSetting.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = level
        }
        return configuration
    }
}

/// Prints one line on stderr and exits 1, so systemd shows the reason and nothing half-starts.
func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("remotaird: \(message)\n".utf8))
    return ExitCode(1)
}

extension Logger.Level {
    init(_ setting: LogLevelSetting) {
        self = Logger.Level(rawValue: setting.rawValue) ?? .info
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (what systemd starts).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Play a scripted scenario on the simulated board: \(Scenario.catalogue.map(\.name).joined(separator: ", ")).")
    var scenario: String?

    func run() async throws {
        var configuration = try options.load()
        if let scenario { configuration.simulation.scenario = scenario }
        if let name = configuration.simulation.scenario {
            do {
                _ = try Scenario.named(name)
            } catch {
                throw failure("\(configuration.file): simulation.scenario: \(error)")
            }
            guard configuration.board == .simulated else {
                throw failure("a scenario plays only on the simulated board (--simulate or board: simulated)")
            }
        }
        JournalLogHandler.bootstrap(level: Logger.Level(configuration.logLevel))
        let logger = Logger(label: "remotaird")
        let board: Board = configuration.board == .simulated
            ? .simulated(configuration: configuration) : .hardware(configuration: configuration)
        // Kept apart so that a reload applies them again on top of the file.
        let overrides = CommandLineOverrides(
            stateDirectory: options.stateDir, board: options.simulate ? .simulated : nil,
            logLevel: options.logLevel == nil ? nil : configuration.logLevel, scenario: scenario)
        let daemon = Daemon(configuration: configuration, board: board, overrides: overrides)
        do {
            try await daemon.run(logger: logger)
        } catch let error as DaemonError {
            logger.critical("cannot start", metadata: ["error": .string(error.description)])
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (and what it points to); exit 0 when valid, 1 when not."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration = try options.load()
        do {
            _ = try SensorCalibration.load(for: configuration)
        } catch {
            throw failure("\(error)")
        }
        // The calibration files and the model they name, cross-checked (labels, model hash, thresholds).
        let modelSet: ModelSet
        do {
            modelSet = try ModelSet.load(configuration: configuration, version: Daemon.version)
        } catch {
            throw failure(error.description)
        }
        print("\(configuration.file): ok (device \(configuration.deviceID), board \(configuration.board.rawValue))")
        print("\(modelSet.calibration.classifier.file): ok (labels \(modelSet.classifier.labels.joined(separator: ", ")), model \(modelSet.classifier.modelSHA256.prefix(12)))")
        print("\(modelSet.calibration.risk.file): ok (\(modelSet.calibration.risk.airQuality.count) air-quality rules)")
    }
}

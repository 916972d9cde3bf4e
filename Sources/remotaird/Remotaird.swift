// The daemon and its offline tools. `run` is what systemd starts; the other subcommands let a
// technician check configuration and hardware from a shell. This file only parses the command line:
// the commands are functions of FieldTools, which the tests call in-process.
import ArgumentParser
import Daemon
import FieldTools
import Foundation
import Journal
import Logging
import Settings
import Simulation
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

    /// Heap settings before anything large is allocated, then ArgumentParser's parsing. `classify` and
    /// `infer` document exit status 2 for usage errors where ArgumentParser exits 64.
    static func main() async {
        Heap.mapLargeBlocksSeparately()
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if let name = arguments.first, ["classify", "infer"].contains(name),
               exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data("remotaird: \(name): \(message(for: error))\n".utf8))
                Foundation.exit(ExitStatus.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// The process's side of the commands: stdout, stderr, the journal's log handler, the environment.
let processContext = ToolContext(
    output: { print($0) },
    errorOutput: { FileHandle.standardError.write(Data("\($0)\n".utf8)) },
    bootstrapLogging: { JournalLogHandler.bootstrap(level: $0) },
    environment: ProcessInfo.processInfo.environment)

/// Ends the command with the status a FieldTools function returned.
func finish(_ status: ExitStatus) throws {
    if status != .success { throw ExitCode(status.rawValue) }
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

    var options: ConfigurationOptions {
        ConfigurationOptions(file: config, stateDirectory: stateDir, simulate: simulate, logLevel: logLevel)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (what systemd starts).")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Play a scripted scenario on the simulated board: \(Scenario.catalogue.map(\.name).joined(separator: ", ")).")
    var scenario: String?

    func run() async throws {
        let prepared: (configuration: DaemonConfiguration, board: Board)
        do {
            prepared = try prepareRun(options.options, scenario: scenario)
        } catch {
            // One line on stderr and exit 1, so systemd shows the reason and nothing half-starts.
            processContext.error(error.message)
            throw ExitCode(error.status.rawValue)
        }
        JournalLogHandler.bootstrap(level: Logger.Level(rawValue: prepared.configuration.logLevel.rawValue) ?? .info)
        let logger = Logger(label: "remotaird")
        let configuration = prepared.configuration
        // Kept apart so that a reload applies them again on top of the file.
        let overrides = CommandLineOverrides(
            stateDirectory: options.stateDir, board: options.simulate ? .simulated : nil,
            logLevel: options.logLevel == nil ? nil : configuration.logLevel, scenario: scenario)
        let daemon = Daemon(configuration: configuration, board: prepared.board, overrides: overrides)
        do {
            try await daemon.run(logger: logger)
        } catch let error as DaemonError {
            logger.critical("cannot start", metadata: ["error": .string(error.description)])
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (and what it points to); exit 0 when valid, 1 when not."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        try finish(checkConfig(options.options, context: processContext))
    }
}

struct SensorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors",
        abstract: "Read every configured sensor once and print the readings (a table, or JSON lines with --json).",
        discussion: """
            Each sensor is started, waited for through its warm-up (SCD4x about 5 s, SPS30 8 s, SGP41 10 s \
            conditioning plus the gas index algorithm's 45 s blackout) up to --timeout, read once and stopped. \
            A sensor still warming up at the timeout is reported as `warming` with no value; one that does not \
            answer as `absent`. On the simulated board (--simulate) the emulators run on a virtual clock, so \
            warm-ups take no real time and every sensor reports a value. Without a configuration file, \
            --simulate uses all six simulated chips on bus \(SimulatedSensors.busName). Exit status 0 unless the configuration \
            is invalid.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "One JSON object per line instead of a table.")
    var json = false

    @Option(name: .long, help: "Longest wait per sensor for its first value, in seconds (hardware: sensors run in parallel).")
    var timeout: Double = 15

    func run() async throws {
        try finish(await readSensors(SensorsOptions(configuration: options.options, json: json, timeout: timeout), context: processContext))
    }
}

struct Capture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture one still from a camera (or all) and write the JPEG(s) with quality flags.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Camera name from configuration, or 'all'.")
    var camera: String = "all"

    @Option(name: .long, help: "Folder to write <capture-id>-<camera>.jpg into (created if missing).")
    var out: String

    func run() async throws {
        try finish(await capture(CaptureOptions(configuration: options.options, camera: camera, out: out), context: processContext))
    }
}

/// `--model` and `--config` of `classify` and `infer`.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model file (default: inference.model, else model: in classifier.yaml of the calibration folder).")
    var model: String?

    @Option(name: .long, help: "Configuration file (default: \(DaemonConfiguration.defaultPath) when it exists).")
    var config: String?

    var location: ModelLocation { ModelLocation(model: model, config: config) }
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify JPEG images with the on-device model.",
        discussion: """
            remotaird classify [--model PATH] [--config FILE] [--json] IMAGE...
            Without --model: inference.model from configuration, else model: in classifier.yaml of the calibration folder.
            Output per image: 'FILE: LABEL (label p, ...) N ms', or with --json
            {"file": "...", "label": "dirty", "scores": {"clean": 0.12, "dirty": 0.88}, "ms": 3.1}
            Exit status: 0 all classified, 1 any image failed, 2 usage error or model not loadable.
            REMOTAIRD_MEMORY_REPORT=1 in the environment prints this process's peak and resident memory on stderr.
            """)

    @OptionGroup var model: ModelOptions

    @Flag(name: .long, help: "One JSON object per image.")
    var json = false

    @Argument(help: "JPEG files.")
    var images: [String] = []

    func run() throws {
        try finish(classify(ClassifyOptions(model: model.location, json: json, images: images), context: processContext))
    }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the model on an exact input tensor from a .npy file.",
        discussion: """
            remotaird infer [--model PATH] [--config FILE] --npy INPUT.npy [--json] [--repeat N]
            --repeat N runs the model N times and prints the median latency on stderr.
            Output: the shape and values, or with --json {"shape": [1, 2], "output": [0.12, 0.88]}
            Exit status: 0 success, 1 the input failed, 2 usage error or model not loadable.
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Input tensor (NumPy float32, C order).")
    var npy: String?

    @Flag(name: .long, help: "Print {\"shape\": [...], \"output\": [...]}.")
    var json = false

    @Option(name: .customLong("repeat"), help: "Run the model N times and print the median latency on stderr.")
    var repeatCount: Int = 1

    func run() throws {
        try finish(infer(InferOptions(model: model.location, npy: npy, json: json, repeatCount: repeatCount), context: processContext))
    }
}

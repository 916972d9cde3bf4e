#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation

/// Field-staff client for the daemon's control socket.
@main
struct RemotairCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remotairctl",
        abstract: "Talk to the running remotaird: status, sensors, manual capture, alarms, outbox.",
        discussion: """
            Connects to the daemon's control socket (--socket, else $REMOTAIR_SOCKET, else \(ControlSocketPath.defaultPath)). \
            Members of the remotair group may use it.
            Exit status: 0 ok, 1 the command failed, 2 usage, 3 the daemon cannot be reached.
            """,
        version: ControlCall.clientVersion,
        subcommands: [
            Status.self, Sensors.self, Capture.self, Alarms.self, Outbox.self, OutboxFlush.self,
            Reload.self, CalibrateCO2.self, Version.self, Model.self,
        ]
    )

    /// Parses, runs, and exits with our statuses (ArgumentParser's usage status 64 becomes 2).
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
            if command is RemotairCtl {
                // No subcommand: a usage error, with the help text to show what exists.
                FileHandle.standardError.write(Data((helpMessage() + "\n").utf8))
                Glibc.exit(ControlCall.ExitStatus.usage)
            }
            if !(command is any CallCommand) {
                // `help` and `--help` parse into ArgumentParser's own help command, which exits by throwing.
                try command.run()
                Glibc.exit(0)
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Glibc.exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Glibc.exit(code == .validationFailure ? ControlCall.ExitStatus.usage : code.rawValue)
        }
        guard let call = command as? any CallCommand else { Glibc.exit(ControlCall.ExitStatus.usage) }
        let options = call.options
        let outcome = ControlCall.perform(
            call.command, args: call.arguments, socket: options.socketPath, json: options.json,
            style: TerminalStyle(colour: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        )
        FileHandle.standardOutput.write(Data(outcome.stdout.utf8))
        FileHandle.standardError.write(Data(outcome.stderr.utf8))
        Glibc.exit(outcome.status)
    }
}

/// Options every subcommand takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Control socket path (default: $REMOTAIR_SOCKET or \(ControlSocketPath.defaultPath)).")
    var socket: String?

    @Flag(name: .long, help: "Print the daemon's raw JSON response.")
    var json = false

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["REMOTAIR_SOCKET"] ?? ControlSocketPath.defaultPath
    }
}

/// A subcommand that is one request to the daemon.
protocol CallCommand: ParsableCommand {
    var options: ClientOptions { get }
    var command: ControlCommand { get }
    var arguments: [String: JSONValue] { get }
}

extension CallCommand {
    var arguments: [String: JSONValue] { [:] }
    // Never reached: main() performs the call; ArgumentParser still requires run().
    func run() throws {}
}

struct Status: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Versions, uptime, overall state and each subsystem's state.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .status }
}

struct Sensors: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Latest sensor readings with unit, age and state.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .sensors }
}

struct Capture: CallCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture and classify now; waits for the result.",
        discussion: "A capture requested while another runs waits for it and then runs. Exit status 1 if any camera failed."
    )
    @OptionGroup var options: ClientOptions

    @Option(name: .long, help: "Camera name, or 'all'.")
    var camera: String = "all"

    @Flag(name: .long, help: "Keep the snapshots on the board; do not queue them for upload.")
    var noUpload = false

    @Option(name: .long, help: "A note kept with the snapshots (at most 500 characters).")
    var note: String?

    var command: ControlCommand { .capture }

    var arguments: [String: JSONValue] {
        var args: [String: JSONValue] = ["camera": .string(camera), "upload": .bool(!noUpload)]
        if let note { args["note"] = .string(note) }
        return args
    }

    func validate() throws {
        if let note, note.count > CaptureRequest.maxNoteLength {
            throw ValidationError("--note is \(note.count) characters; at most \(CaptureRequest.maxNoteLength) are kept")
        }
    }
}

struct Alarms: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Active alarms.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .alarms }
}

struct Outbox: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Queued uploads by kind and state, oldest age, last error.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .outbox }
}

struct OutboxFlush: CallCommand {
    static let configuration = CommandConfiguration(commandName: "outbox-flush", abstract: "Retry every queued upload now.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .outboxFlush }
}

struct Reload: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Reload configuration, calibration and model (like SIGHUP).")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .reload }
}

struct CalibrateCO2: CallCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-co2",
        abstract: "SCD4x forced recalibration to a reference concentration.",
        discussion: "Only in air of known CO2 (outdoors is about 420 ppm) after 3 minutes of operation; refused unless control.allow_co2_calibration is true."
    )
    @OptionGroup var options: ClientOptions

    @Option(name: .long, help: "Reference CO2 concentration in ppm (\(CO2Calibration.referenceRange.lowerBound) to \(CO2Calibration.referenceRange.upperBound)).")
    var ppm: Int

    var command: ControlCommand { .calibrateCO2 }
    var arguments: [String: JSONValue] { ["ppm": .number(Double(ppm))] }

    func validate() throws {
        let range = CO2Calibration.referenceRange
        guard range.contains(ppm) else { throw ValidationError("--ppm must be within \(range.lowerBound)...\(range.upperBound)") }
    }
}

struct Version: CallCommand {
    static let configuration = CommandConfiguration(abstract: "Daemon, protocol and client versions.")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .version }
}

struct Model: CallCommand {
    static let configuration = CommandConfiguration(
        abstract: "Current and previous model (version, SHA-256, activation time), channel, last check and last refusal.",
        subcommands: [ModelRollback.self])
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .model }
}

struct ModelRollback: CallCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Go back to the previous model (logged with who asked).")
    @OptionGroup var options: ClientOptions
    var command: ControlCommand { .modelRollback }
}

import ControlProtocol
import Foundation

/// What one `remotairctl` invocation prints and how it exits.
public struct CallOutcome: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// One request/response round trip, rendered: the whole of `remotairctl` apart from argument parsing,
/// so tests can run it in-process against a real socket.
public enum ControlCall {
    public enum ExitStatus {
        public static let ok: Int32 = 0
        /// The daemon answered with an error (or a capture where a camera failed or a snapshot was not queued).
        public static let failed: Int32 = 1
        public static let usage: Int32 = 2
        public static let unreachable: Int32 = 3
    }

    /// The version `remotairctl version` reports for itself.
    public static let clientVersion = "0.1.0"

    public static func perform(
        _ command: ControlCommand, args: [String: JSONValue] = [:], socket: String, json: Bool, style: TerminalStyle,
        timeout: Duration = .seconds(120)
    ) -> CallOutcome {
        let line: [UInt8]
        do {
            let connection = try ControlConnection(path: socket, timeout: timeout)
            line = try connection.send(ControlRequest(id: 1, cmd: command.rawValue, args: args))
        } catch {
            let status = error.kind == .unreachable ? ExitStatus.unreachable : ExitStatus.failed
            return CallOutcome(status: status, stdout: "", stderr: "remotairctl: \(error)\n")
        }
        let renderer = Renderer(style: style)
        switch command {
        case .status: return finish(line, json: json, as: StatusResult.self, renderer.status)
        case .sensors: return finish(line, json: json, as: SensorsResult.self, renderer.sensors)
        case .capture:
            var outcome = finish(line, json: json, as: CaptureResult.self, renderer.capture)
            // A capture where any camera failed, or whose snapshot the outbox refused, is a failed command
            // for scripts: the technician must not leave believing the snapshot is on its way.
            if outcome.status == ExitStatus.ok,
               let result = try? JSONDecoder().decode(ControlResponse<CaptureResult>.self, from: Data(line)).result,
               result.cameras.contains(where: { $0.error != nil || $0.snapshotQueued == false }) {
                outcome.status = ExitStatus.failed
            }
            return outcome
        case .alarms: return finish(line, json: json, as: AlarmsResult.self, renderer.alarms)
        case .outbox: return finish(line, json: json, as: OutboxResult.self, renderer.outbox)
        case .outboxFlush: return finish(line, json: json, as: OutboxFlushResult.self, renderer.outboxFlush)
        case .reload: return finish(line, json: json, as: ReloadResult.self, renderer.reload)
        case .calibrateCO2: return finish(line, json: json, as: CalibrationResult.self, renderer.calibration)
        case .version: return finish(line, json: json, as: VersionResult.self) { renderer.version($0, client: clientVersion) }
        case .model, .modelRollback: return finish(line, json: json, as: ModelResult.self, renderer.model)
        }
    }

    static func finish<R: Codable & Sendable>(_ line: [UInt8], json: Bool, as type: R.Type, _ render: (R) -> String) -> CallOutcome {
        guard let response = try? JSONDecoder().decode(ControlResponse<R>.self, from: Data(line)) else {
            let text = String(decoding: line.prefix(200), as: UTF8.self)
            return CallOutcome(status: ExitStatus.failed, stdout: "", stderr: "remotairctl: unexpected answer from the daemon: \(text)\n")
        }
        if json {
            return CallOutcome(status: response.ok ? ExitStatus.ok : ExitStatus.failed, stdout: String(decoding: line, as: UTF8.self) + "\n", stderr: "")
        }
        if let error = response.error, !response.ok {
            return CallOutcome(status: ExitStatus.failed, stdout: "", stderr: "remotairctl: \(error.code): \(error.message)\n")
        }
        guard let result = response.result else {
            return CallOutcome(status: ExitStatus.failed, stdout: "", stderr: "remotairctl: the daemon answered ok without a result\n")
        }
        return CallOutcome(status: ExitStatus.ok, stdout: render(result), stderr: "")
    }
}

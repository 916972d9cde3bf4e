@testable import Control
import ControlClient
import ControlProtocol
import Foundation
import Logging
import Testing
import TestSupport

/// `remotairctl model` and `model rollback` (issue 22): the table, the audit line, and a daemon without model updates.
@Suite("model commands")
struct ModelControlTests {
    let peer = PeerCredentials(pid: 4242, uid: 1000, gid: 1000)

    @Test("model shows current and previous model, channel, last check and last refusal (golden)")
    func golden() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let path = server.path
        let outcome = try await blocking { ControlCall.perform(.model, args: [:], socket: path, json: false, style: .plain) }
        #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
        let file = RemotairCtlTests.goldenDirectory + "/model.txt"
        if ProcessInfo.processInfo.environment["REMOTAIR_UPDATE_GOLDEN"] == "1" {
            try outcome.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: file, encoding: .utf8)
        #expect(outcome.stdout == expected, "\n--- expected\n\(expected)--- got\n\(outcome.stdout)")
    }

    @Test("a rollback writes an audit line with who, when, from and to, like a manual capture")
    func rollbackAudit() async throws {
        let lines = LogCapture()
        let dispatcher = ControlDispatcher(backend: StubBackend(), allowCO2Calibration: false, logger: Logger(label: "control") { _ in lines })
        let line = await dispatcher.respond(to: ControlRequest(id: 3, cmd: "model-rollback"), from: peer)
        let response = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(response["ok"] as? Bool == true)
        let audit = try #require(lines.entries.first { $0.message == "audit: model rollback" })
        #expect(audit.metadata["uid"] == "1000" && audit.metadata["pid"] == "4242")
        #expect(audit.metadata["from"] == "2026.12.8" && audit.metadata["to"] == "2026.11.27-bf2f9b5e")
        #expect(audit.metadata["at"]?.hasPrefix("20") == true)
        #expect(lines.entries.contains { $0.message == "model-rollback requested" && $0.metadata["uid"] == "1000" })
    }

    @Test("a backend without model updates answers not_available, naming it")
    func notAvailable() async throws {
        struct Plain: ControlBackend {
            let stub = StubBackend()
            func status() async throws(ControlError) -> StatusResult { try await stub.status() }
            func sensors() async throws(ControlError) -> SensorsResult { try await stub.sensors() }
            func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> CaptureResult {
                try await stub.capture(camera: camera, upload: upload, note: note)
            }
            func alarms() async throws(ControlError) -> AlarmsResult { try await stub.alarms() }
            func outbox() async throws(ControlError) -> OutboxResult { try await stub.outbox() }
            func outboxFlush() async throws(ControlError) -> OutboxFlushResult { try await stub.outboxFlush() }
            func reload() async throws(ControlError) -> ReloadResult { try await stub.reload() }
            func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult { try await stub.calibrateCO2(ppm: ppm) }
            func version() async throws(ControlError) -> VersionResult { try await stub.version() }
        }
        let dispatcher = ControlDispatcher(backend: Plain(), allowCO2Calibration: false, logger: Logger(label: "control"))
        for command in ["model", "model-rollback"] {
            let line = await dispatcher.respond(to: ControlRequest(id: 1, cmd: command), from: peer)
            let response = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect((response["error"] as? [String: Any])?["code"] as? String == "not_available")
        }
    }

    @Test("remotairctl model rollback is a subcommand sending model-rollback")
    func subcommand() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let (status, stdout, stderr) = try await ChildProcess.run(PackagePaths.executable("remotairctl"), ["model", "rollback", "--socket", server.path],
                                                                  environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(30))
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("current: 2026.11.27-bf2f9b5e"))
    }
}

@testable import Control
import ControlProtocol
import Foundation
import Logging
import Settings
import Testing

@Suite("ControlDispatcher")
struct ControlDispatcherTests {
    let peer = PeerCredentials(pid: 4242, uid: 1000, gid: 1000)

    func dispatcher(_ backend: StubBackend = StubBackend(), co2: Bool = false, logger: Logger = Logger(label: "control")) -> ControlDispatcher {
        ControlDispatcher(backend: backend, allowCO2Calibration: co2, logger: logger)
    }

    func answer(_ request: ControlRequest, _ dispatcher: ControlDispatcher) async throws -> [String: Any] {
        let line = await dispatcher.respond(to: request, from: peer)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") }, "one line")
        return try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
    }

    func errorCode(_ response: [String: Any]) -> String? {
        (response["error"] as? [String: Any])?["code"] as? String
    }

    @Test("every command answers ok with its id", arguments: ControlCommand.allCases)
    func everyCommand(command: ControlCommand) async throws {
        let args: [String: JSONValue] = command == .calibrateCO2 ? ["ppm": .number(420)] : [:]
        let response = try await answer(ControlRequest(id: 9, cmd: command.rawValue, args: args), dispatcher(co2: true))
        #expect(response["id"] as? Int == 9)
        #expect(response["ok"] as? Bool == true, "\(response)")
        #expect(response["result"] is [String: Any])
    }

    @Test("unknown command is named and lists the known ones")
    func unknownCommand() async throws {
        let response = try await answer(ControlRequest(id: 2, cmd: "selfdestruct"), dispatcher())
        #expect(response["ok"] as? Bool == false)
        #expect(errorCode(response) == "unknown_command")
        #expect(((response["error"] as? [String: Any])?["message"] as? String)?.contains("calibrate-co2") == true)
    }

    @Test("capture arguments with wrong types or out of limits are bad_request",
          arguments: [
              ["camera": JSONValue.number(1)],
              ["upload": .string("yes")],
              ["note": .bool(true)],
              ["note": .string(String(repeating: "n", count: 501))],
              ["camera": .string("")],
          ])
    func badCaptureArguments(args: [String: JSONValue]) async throws {
        let backend = StubBackend()
        let response = try await answer(ControlRequest(id: 3, cmd: "capture", args: args), dispatcher(backend))
        #expect(errorCode(response) == "bad_request")
        #expect(backend.captureCount == 0)
    }

    @Test("a 500-character note (in characters, not bytes) is accepted and returned")
    func noteLimit() async throws {
        let note = String(repeating: "é", count: 500)
        let response = try await answer(ControlRequest(id: 4, cmd: "capture", args: ["note": .string(note), "camera": .string("upstream")]), dispatcher())
        #expect(((response["result"] as? [String: Any])?["note"] as? String) == note)
    }

    @Test("calibrate-co2 is refused unless configuration allows it, and ppm is checked")
    func calibration() async throws {
        #expect(errorCode(try await answer(ControlRequest(id: 1, cmd: "calibrate-co2", args: ["ppm": .number(420)]), dispatcher())) == "not_allowed")
        let allowed = dispatcher(co2: true)
        for bad: JSONValue in [.number(399), .number(2001), .number(420.5), .string("420")] {
            #expect(errorCode(try await answer(ControlRequest(id: 1, cmd: "calibrate-co2", args: ["ppm": bad]), allowed)) == "bad_request")
        }
        #expect(errorCode(try await answer(ControlRequest(id: 1, cmd: "calibrate-co2"), allowed)) == "bad_request")
        let ok = try await answer(ControlRequest(id: 1, cmd: "calibrate-co2", args: ["ppm": .number(2000)]), allowed)
        #expect((ok["result"] as? [String: Any])?["reference_ppm"] as? Int == 2000)
    }

    @Test("captures requested at the same time run one after the other")
    func capturesNeverInterleave() async throws {
        let backend = StubBackend(captureDelay: .milliseconds(100))
        let dispatcher = dispatcher(backend)
        let peer = self.peer
        await withTaskGroup(of: Void.self) { group in
            for id in 0..<4 {
                group.addTask { _ = await dispatcher.respond(to: ControlRequest(id: id, cmd: "capture"), from: peer) }
            }
        }
        #expect(backend.captureCount == 4)
        #expect(backend.maxConcurrentCaptures == 1)
    }

    @Test("a manual capture writes an audit line with who, when and the result")
    func auditLine() async throws {
        let lines = LogCapture()
        let logger = Logger(label: "control") { _ in lines }
        _ = try await answer(ControlRequest(id: 5, cmd: "capture", args: ["note": .string("after cleaning")]), dispatcher(logger: logger))
        let audit = try #require(lines.entries.first { $0.message == "audit: manual capture" })
        #expect(audit.metadata["uid"] == "1000" && audit.metadata["gid"] == "1000" && audit.metadata["pid"] == "4242")
        #expect(audit.metadata["result"] == "upstream:clean,downstream:camera_offline")
        #expect(audit.metadata["note"] == "after cleaning")
        #expect(audit.metadata["at"]?.hasPrefix("20") == true)
        #expect(lines.entries.contains { $0.message == "capture requested" && $0.metadata["uid"] == "1000" })
    }

    @Test("a remote (MQTT) capture takes the socket's path: same gate, same argument checks, the audit line names the requester")
    func remoteCapture() async throws {
        let lines = LogCapture()
        let backend = StubBackend(captureDelay: .milliseconds(100))
        let dispatcher = dispatcher(backend, logger: Logger(label: "control") { _ in lines })
        let peer = self.peer
        let requester: Logger.Metadata = ["via": "mqtt", "requested_by": "alice"]
        let answers = await withTaskGroup(of: [UInt8]?.self) { group in
            for id in 0..<2 {
                group.addTask { _ = await dispatcher.respond(to: ControlRequest(id: id, cmd: "capture"), from: peer); return nil }
                group.addTask { await dispatcher.remoteCapture(args: ["note": .string("remote")], id: 10 + id, requester: requester) }
            }
            var answers: [[UInt8]] = []
            for await answer in group { if let answer { answers.append(answer) } }
            return answers
        }
        #expect(backend.captureCount == 4)
        #expect(backend.maxConcurrentCaptures == 1, "remote and socket captures share one gate")
        for answer in answers {
            #expect(answer.last != UInt8(ascii: "\n"))
            let response = try #require(try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])
            #expect(response["ok"] as? Bool == true && [10, 11].contains(response["id"] as? Int))
            #expect((response["result"] as? [String: Any])?["note"] as? String == "remote")
        }
        let audits = lines.entries.filter { $0.message == "audit: manual capture" && $0.metadata["via"] == "mqtt" }
        #expect(audits.count == 2)
        #expect(audits.allSatisfy { $0.metadata["requested_by"] == "alice" && $0.metadata["uid"] == nil && $0.metadata["note"] == "remote" })

        // The socket's argument checks, and a failure answered and logged, never thrown.
        let refused = await dispatcher.remoteCapture(args: ["camera": .number(3)], id: 12, requester: requester)
        let response = try #require(try JSONSerialization.jsonObject(with: Data(refused)) as? [String: Any])
        #expect(response["ok"] as? Bool == false && response["id"] as? Int == 12 && errorCode(response) == "bad_request")
        #expect(lines.entries.contains { $0.message == "capture failed" && $0.metadata["requested_by"] == "alice" })
        #expect(backend.captureCount == 4)
    }
}

/// Collects log records in memory.
final class LogCapture: LogHandler, @unchecked Sendable {
    struct Entry {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []
    var entries: [Entry] { lock.withLock { stored } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let flat = (event.metadata ?? [:]).mapValues { "\($0)" }
        lock.withLock { stored.append(Entry(level: event.level, message: "\(event.message)", metadata: flat)) }
    }
}

@Suite("PeerPolicy")
struct PeerPolicyTests {
    let peer = PeerCredentials(pid: 10, uid: 1000, gid: 100)

    @Test("no allow-list: everyone who can open the socket")
    func open() {
        #expect(PeerPolicy.open.allows(peer))
    }

    @Test("by uid, primary gid, or supplementary membership")
    func lists() {
        #expect(PeerPolicy(uids: [1000]).allows(peer))
        #expect(PeerPolicy(gids: [100]).allows(peer))
        #expect(PeerPolicy(restricted: true, gids: [5], memberUIDs: [1000]).allows(peer))
        #expect(!PeerPolicy(uids: [0], gids: [5]).allows(peer))
    }

    @Test("an allow-list whose groups did not resolve refuses everyone instead of opening up")
    func unresolved() {
        #expect(!PeerPolicy(restricted: true).allows(peer))
        var settings = ControlSettings()
        settings.allowGroups = ["no-such-group-here"]
        #expect(!ControlServer.resolvePolicy(settings, logger: Logger(label: "test")).allows(peer))
    }
}

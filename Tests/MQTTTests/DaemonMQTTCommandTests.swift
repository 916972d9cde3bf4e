import Foundation
import MQTT
import Testing
import TestSupport

/// `accept_commands` (issue 19) against a real mosquitto: remote captures asked for on `{prefix}/cmd/capture` by a
/// separate `operator` identity with `mosquitto_pub` (MQTT 5, so it can set the `requested_by` user property),
/// answered on `{prefix}/cmd/capture/result`; and, without the key, no subscription at the broker at all.
@Suite("remotaird MQTT capture commands (real mosquitto, spawned daemon)", .serialized)
struct DaemonMQTTCommandTests {
    typealias Board = DaemonMQTTTests.Board

    func board(_ broker: Broker, acceptCommands: Bool) throws -> Board {
        let board = try Board(broker: broker)
        if acceptCommands {
            var text = try String(contentsOfFile: board.config, encoding: .utf8)
            text = text.replacingOccurrences(of: "  telemetry_interval: 1s", with: "  telemetry_interval: 1s\n  accept_commands: true")
            try text.write(toFile: board.config, atomically: true, encoding: .utf8)
        }
        return board
    }

    /// Publishes one request as the `operator` user (the ACL lets it write every board's command topic).
    func request(_ broker: Broker, _ payload: String? = nil, file: String? = nil, requester: String? = nil) async throws {
        var arguments = ["-h", "127.0.0.1", "-p", "\(broker.port)", "--cafile", broker.caFile, "--cert", broker.certFile("operator"),
                         "--key", broker.keyFile("operator"), "-V", "mqttv5", "-q", "1", "-i", "operator-\(UUID().uuidString.prefix(6))",
                         "-t", "remotair/\(broker.device)/cmd/capture"]
        if let requester { arguments += ["-D", "publish", "user-property", "requested_by", requester] }
        if let file { arguments += ["-f", file] } else { arguments += ["-m", payload ?? ""] }
        let (status, _, stderr) = try await ChildProcess.run("/usr/bin/mosquitto_pub", arguments)
        #expect(status == 0, "mosquitto_pub: \(stderr)")
    }

    /// Every result document the watcher saw, parsed.
    static func results(_ inbox: Inbox, device: String) -> [[String: Any]] {
        inbox.all.filter { $0.topic == "remotair/\(device)/cmd/capture/result" }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any]
        }
    }

    static func errorCode(_ result: [String: Any]?) -> String? {
        (result?["error"] as? [String: Any])?["code"] as? String
    }

    @Test("with accept_commands a capture request runs the socket's capture and is answered; bad requests get an error result, never a crash")
    func acceptsCommands() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try board(broker, acceptCommands: true)
        defer { board.dir.remove() }
        let (watcher, inbox) = try await DaemonMQTTTests().watcher(broker)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("mqtt accepting capture commands", timeout: .seconds(60)), "\(daemon.stderr.suffix(3000))")
        // The broker saw the subscription (QoS 1), so the check the other test makes for its absence can fail.
        #expect(broker.log.contains("e2e-board 1 remotair/e2e-board/cmd/capture"), "\(broker.log.suffix(2000))")

        func result(_ id: Int?, timeout: Duration = .seconds(60)) async -> [String: Any]? {
            let found = await DaemonMQTTTests.wait(timeout: timeout) {
                Self.results(inbox, device: broker.device).contains { ($0["id"] as? Int) == id || (id == nil && $0["id"] is NSNull) }
            }
            guard found else { return nil }
            return Self.results(inbox, device: broker.device).last { ($0["id"] as? Int) == id || (id == nil && $0["id"] is NSNull) }
        }

        try await request(broker, #"{"id": 41, "args": {"camera": "upstream", "note": "remote check", "upload": false}}"#, requester: "alice")
        let answer = await result(41)
        #expect(answer?["ok"] as? Bool == true, "\(String(describing: answer)) \(daemon.stderr.suffix(3000))")
        let capture = answer?["result"] as? [String: Any]
        let cameras = capture?["cameras"] as? [[String: Any]] ?? []
        #expect(cameras.count == 1 && cameras.first?["name"] as? String == "upstream", "\(String(describing: capture))")
        #expect(["clean", "dirty"].contains(cameras.first?["label"] as? String ?? ""), "\(cameras)")
        #expect(capture?["upload"] as? Bool == false && capture?["note"] as? String == "remote check")
        #expect(inbox.all.filter { $0.topic.hasSuffix("/cmd/capture/result") }.allSatisfy { $0.qos == 1 && !$0.retain })
        // The socket's audit line, naming who asked (the user property) and that it came over MQTT.
        let audit = daemon.stderr.split(separator: "\n").first { $0.contains("audit: manual capture") }
        #expect(audit?.contains("alice") == true && audit?.contains("mqtt") == true && audit?.contains("remote check") == true, "\(String(describing: audit))")

        // The payload's requested_by when there is no user property; an unknown camera is the socket's bad_request.
        try await request(broker, #"{"id": 42, "args": {"camera": "attic"}, "requested_by": "bob"}"#)
        let unknown = await result(42)
        #expect(unknown?["ok"] as? Bool == false && Self.errorCode(unknown) == "bad_request", "\(String(describing: unknown))")
        #expect(((unknown?["error"] as? [String: Any])?["message"] as? String)?.contains("no camera named 'attic'") == true)
        #expect(daemon.stderr.split(separator: "\n").contains { $0.contains("capture failed") && $0.contains("bob") })

        // Not JSON: an error result (no id to echo) and a log line.
        try await request(broker, "capture please", requester: "mallory")
        let garbage = await result(nil)
        #expect(garbage?["ok"] as? Bool == false && Self.errorCode(garbage) == "bad_request", "\(String(describing: garbage))")
        #expect(daemon.stderr.split(separator: "\n").contains { $0.contains("mqtt capture request refused") && $0.contains("mallory") })

        // Oversized (over the socket's 64 KiB line): too_large, nothing run.
        let big = try board.dir.write("big.json", "{\"id\": 44, \"args\": {\"note\": \"" + String(repeating: "x", count: 70_000) + "\"}}")
        try await request(broker, file: big)
        let refusedLater = await DaemonMQTTTests.wait(timeout: .seconds(30)) {
            Self.results(inbox, device: broker.device).contains { Self.errorCode($0) == "too_large" }
        }
        #expect(refusedLater, "\(Self.results(inbox, device: broker.device))")
        #expect(daemon.stderr.components(separatedBy: "audit: manual capture").count == 3, "one audit line per request that reached the capture path")

        // Still running and answering: the socket, and MQTT.
        #expect(daemon.process.isRunning)
        let mqtt = try await DaemonMQTTTests.mqttStatus(board)
        #expect(mqtt?["state"] as? String == "ok", "\(String(describing: mqtt))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(20)) == 0)
        await watcher.disconnect()
    }

    @Test("without accept_commands the command topic is not subscribed at the broker, and a request runs nothing")
    func commandsOffByDefault() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try board(broker, acceptCommands: false)
        defer { board.dir.remove() }
        let (watcher, inbox) = try await DaemonMQTTTests().watcher(broker)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("mqtt connected", timeout: .seconds(60)), "\(daemon.stderr.suffix(3000))")
        try await request(broker, #"{"id": 51, "args": {"camera": "upstream"}}"#, requester: "alice")
        try await Task.sleep(for: .seconds(5))
        // The broker logs every SUBSCRIBE (log_type subscribe): the watcher's is there, the board made none.
        #expect(broker.log.contains(" 1 remotair/e2e-board/#"), "subscriptions are logged: \(broker.log.suffix(2000))")
        #expect(!broker.log.contains("cmd/capture"), "\(broker.log.suffix(2000))")
        #expect(!broker.log.split(separator: "\n").contains { $0.contains(": e2e-board ") && !$0.contains("New client") && !$0.contains("New connection") },
                "\(broker.log.suffix(2000))")
        #expect(Self.results(inbox, device: broker.device).isEmpty)
        #expect(inbox.all.contains { $0.topic == "remotair/e2e-board/cmd/capture" }, "the request did reach the broker")
        #expect(!daemon.stderr.contains("audit: manual capture"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(20)) == 0)
        await watcher.disconnect()
    }
}

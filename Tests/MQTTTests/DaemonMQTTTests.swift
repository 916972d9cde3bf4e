import Foundation
import MQTT
import Testing
import TestSupport

/// remotaird on the simulated board (scenario getting-dirty: a duct_dirty alarm raised, then cleared)
/// with the mqtt section pointing at a real mosquitto with mutual TLS and the device's ACL, and the
/// file:// uplink beside it, so what reached S3 can be compared with what reached the broker.
@Suite("remotaird over MQTT (real mosquitto, spawned daemon)", .serialized)
struct DaemonMQTTTests {
    struct Board {
        let dir: TemporaryDirectory
        let config: String

        init(broker: Broker) throws {
            dir = try TemporaryDirectory("remotaird-mqtt")
            let risk = try dir.write("risk.yaml", """
                cameras: {window: 3, required: 2, min_dwell: 0s, fusion: any}
                air_quality:
                  pm2_5: {warn: 25, alarm: 50, clear: 20, for: 2s}
                devices: {camera_offline_after: 4s, sensor_faulted_after: 4s, lens_blocked_captures: 3}
                """)
            config = try dir.write("r.yaml", """
                device_id: \(broker.device)
                board: simulated
                state_dir: \(dir.file("state"))
                runtime_dir: \(dir.file("run"))
                calibration_dir: \(PackagePaths.root)/Calibration
                risk_file: \(risk)
                capture: {interval: 1s, jitter: 0s, first_capture_after: 500ms, snapshot_interval: 1d, samples_per_day: 0}
                simulation:
                  frames_dir: \(PackagePaths.root)/Calibration/simulation/frames
                  scenario: getting-dirty
                sensors:
                  devices:
                    - {id: sps30, type: sps30, bus: sim-i2c-1, interval: 1s}
                cameras:
                  reopen_backoff_max: 1s
                  devices:
                    - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s, offline_alarm_after: 4s}
                    - {name: downstream, device: "sim:downstream", replay_scene: clean, warmup_frames: 0, timeout: 3s, offline_alarm_after: 4s}
                control: {group: nogroup}
                uplink: {endpoint: "file://\(dir.file("uploads"))", bucket: e2e-bucket}
                mqtt:
                  url: mqtts://127.0.0.1:\(broker.port)
                  ca_file: \(broker.caFile)
                  cert_file: \(broker.certFile(broker.device))
                  key_file: \(broker.keyFile(broker.device))
                  keepalive: 5s
                  telemetry_interval: 1s
                """)
        }

        /// Alarm documents the file:// uplink wrote, as raw bytes.
        func uploadedAlarms() -> [Data] {
            let root = URL(fileURLWithPath: dir.file("uploads"))
            guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
            return files.compactMap { $0 as? URL }.filter { $0.pathExtension == "json" && $0.path.contains("/alarm/") }
                .compactMap { try? Data(contentsOf: $0) }
        }

        func start() throws -> ChildProcess {
            let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: ["PATH": "/usr/bin:/bin"])
            try daemon.start()
            return daemon
        }
    }

    func watcher(_ broker: Broker) async throws -> (MQTTClient, Inbox) {
        let inbox = Inbox()
        let options = MQTTClientOptions(host: "127.0.0.1", port: broker.port, clientID: "watcher-\(UUID().uuidString.prefix(6))", keepalive: 5,
                                        tls: .init(caFile: broker.caFile, certFile: broker.certFile("watcher"), keyFile: broker.keyFile("watcher")))
        let client = try MQTTClient(options: options) { inbox.append($0) }
        try await client.connect()
        try await client.subscribe("remotair/\(broker.device)/#", qos: .atLeastOnce)
        return (client, inbox)
    }

    static func transitions(_ messages: [MQTTMessage], device: String) -> [String] {
        messages.filter { $0.topic == "remotair/\(device)/alarms" }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any]).flatMap { "\($0["kind"] ?? "?"):\($0["transition"] ?? "?")" }
        }
    }

    /// The `mqtt` subsystem of `remotairctl status --json`.
    static func mqttStatus(_ board: Board) async throws -> [String: Any]? {
        let (_, json, _) = try await ChildProcess.run(PackagePaths.executable("remotairctl"),
                                                      ["status", "--json", "--socket", board.dir.file("run/control.sock")])
        let result = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["result"] as? [String: Any]
        return (result?["subsystems"] as? [[String: Any]])?.first { $0["name"] as? String == "mqtt" }
    }

    static func wait(timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return condition()
    }

    @Test("alarms arrive on {prefix}/alarms in order, byte for byte as uploaded; status online at connect, offline as the will at SIGKILL")
    func alarmsInOrder() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        let (watcher, inbox) = try await watcher(broker)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        let done = await Self.wait(timeout: .seconds(90)) {
            Self.transitions(inbox.all, device: broker.device).contains("duct_dirty:cleared")
                && board.uploadedAlarms().contains { String(decoding: $0, as: UTF8.self).contains("\"cleared\"") }
        }
        #expect(done, "\(daemon.stderr.suffix(3000))")
        let alarms = inbox.all.filter { $0.topic == "remotair/e2e-board/alarms" }
        let transitions = Self.transitions(alarms, device: broker.device).filter { $0.hasPrefix("duct_dirty") }
        #expect(transitions == ["duct_dirty:raised", "duct_dirty:cleared"])
        #expect(alarms.allSatisfy { $0.qos == 1 })
        // Every alarm published is exactly a document the uplink stored.
        let uploaded = Set(board.uploadedAlarms())
        #expect(alarms.allSatisfy { uploaded.contains(Data($0.payload)) })

        let status = inbox.all.filter { $0.topic == "remotair/e2e-board/status" }
        let online = try #require(status.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] })
        #expect(online["state"] as? String == "online")
        #expect((online["model_sha256"] as? String)?.count == 64)

        // Telemetry: QoS 0, the readings with their units and the sensors' states.
        let telemetry = inbox.all.filter { $0.topic == "remotair/e2e-board/telemetry" }
        #expect(!telemetry.isEmpty)
        #expect(telemetry.allSatisfy { $0.qos == 0 && !$0.retain })
        let reading = telemetry.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] }
        let readings = reading?["readings"] as? [[String: Any]] ?? []
        #expect(readings.contains { $0["metric"] as? String == "pm2_5" && $0["unit"] as? String == "ug/m3" }, "\(readings.prefix(3))")
        #expect((reading?["sensors"] as? [[String: Any]])?.first?["state"] != nil)

        // The retained active set: the duct_dirty alarm while raised, gone after the clear.
        func active() -> [[[String: Any]]] {
            inbox.all.filter { $0.topic == "remotair/e2e-board/alarms/active" }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any])?["alarms"] as? [[String: Any]]
            }
        }
        let cleared = await Self.wait(timeout: .seconds(10)) {
            active().contains { $0.contains { $0["kind"] as? String == "duct_dirty" } }
                && active().last?.contains { $0["kind"] as? String == "duct_dirty" } == false
        }
        #expect(cleared, "\(active())")

        daemon.signal(SIGKILL)
        let offline = await Self.wait(timeout: .seconds(15)) {
            inbox.all.last { $0.topic == "remotair/e2e-board/status" }.map { String(decoding: $0.payload, as: UTF8.self).contains("\"offline\"") } ?? false
        }
        #expect(offline)
        await watcher.disconnect()
    }

    @Test("reload with a changed mqtt section: the old client says offline once (a clean stop, no will), the new one connects; no restart")
    func reloadAppliesMQTT() async throws {
        let broker = try await Broker(device: "e2e-board", deviceTopics: ["remotair/e2e-board/#", "remotair/moved/#", "homeassistant/+/e2e-board/#"])
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        let inbox = Inbox()
        let watcher = try MQTTClient(options: MQTTClientOptions(
            host: "127.0.0.1", port: broker.port, clientID: "watcher-reload", keepalive: 5,
            tls: .init(caFile: broker.caFile, certFile: broker.certFile("watcher"), keyFile: broker.keyFile("watcher")))) { inbox.append($0) }
        try await watcher.connect()
        try await watcher.subscribe("remotair/#", qos: .atLeastOnce)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        func states(_ topic: String) -> [String] {
            inbox.all.filter { $0.topic == topic }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any])?["state"] as? String
            }
        }
        let online = await Self.wait(timeout: .seconds(30)) { states("remotair/e2e-board/status").contains("online") }
        #expect(online, "\(daemon.stderr.suffix(3000))")

        var text = try String(contentsOfFile: board.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "  telemetry_interval: 1s", with: "  telemetry_interval: 1s\n  topic_prefix: remotair/moved")
        try text.write(toFile: board.config, atomically: true, encoding: .utf8)
        let (status, _, stderr) = try await ChildProcess.run(PackagePaths.executable("remotairctl"), ["reload", "--socket", board.dir.file("run/control.sock")])
        #expect(status == 0, "\(stderr)")

        let moved = await Self.wait(timeout: .seconds(30)) { states("remotair/moved/status").contains("online") }
        #expect(moved, "\(daemon.stderr.suffix(3000))")
        // Give a will time to arrive if the old connection ended uncleanly: there must be exactly one offline.
        try await Task.sleep(for: .seconds(2))
        #expect(states("remotair/e2e-board/status").filter { $0 == "offline" }.count == 1, "\(states("remotair/e2e-board/status"))")
        #expect(!daemon.stderr.contains("take effect at the next restart"), "\(daemon.stderr.suffix(3000))")
        // Telemetry now flows under the new prefix.
        let telemetry = await Self.wait(timeout: .seconds(10)) { inbox.all.contains { $0.topic == "remotair/moved/telemetry" } }
        #expect(telemetry)
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
        await watcher.disconnect()
    }

    @Test("broker down while alarms are raised and the daemon SIGKILLed: after both come back every alarm arrives")
    func outageAndKill() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        await broker.stop()
        var daemon = try board.start()
        // The raise reaches the file uplink (so it is in the outbox) while the broker is away.
        let raised = await Self.wait(timeout: .seconds(90)) {
            board.uploadedAlarms().contains { String(decoding: $0, as: UTF8.self).contains("\"raised\"") }
        }
        #expect(raised, "\(daemon.stderr.suffix(3000))")
        #expect(daemon.stderr.contains("mqtt disconnected; reconnecting with backoff"), "\(daemon.stderr.suffix(3000))")
        daemon.signal(SIGKILL)
        _ = await daemon.wait(timeout: .seconds(10))

        try await broker.start()
        let (watcher, inbox) = try await watcher(broker)
        daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        let done = await Self.wait(timeout: .seconds(90)) {
            Self.transitions(inbox.all, device: broker.device).contains("duct_dirty:cleared")
        }
        #expect(done, "\(daemon.stderr.suffix(3000))")
        let published = Set(inbox.all.filter { $0.topic == "remotair/e2e-board/alarms" }.map { Data($0.payload) })
        // Nothing lost: every alarm the uplink stored also came over MQTT (duplicates allowed).
        for document in board.uploadedAlarms() {
            #expect(published.contains(document), "\(String(decoding: document, as: UTF8.self))")
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
        await watcher.disconnect()
    }

    @Test("a CA that does not sign the broker's certificate: MQTT pauses with one log line, everything else runs on")
    func pausedOnWrongCA() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        var text = try String(contentsOfFile: board.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "ca_file: \(broker.caFile)", with: "ca_file: \(broker.rogueCAFile)")
        try text.write(toFile: board.config, atomically: true, encoding: .utf8)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("mqtt paused: TLS or authorisation failure", timeout: .seconds(30)), "\(daemon.stderr.suffix(3000))")
        // Captures and the uplink go on: the raise still reaches the file uplink.
        let raised = await Self.wait(timeout: .seconds(90)) {
            board.uploadedAlarms().contains { String(decoding: $0, as: UTF8.self).contains("\"raised\"") }
        }
        #expect(raised)
        #expect(daemon.stderr.components(separatedBy: "mqtt paused").count == 2, "logged once")
        // remotairctl status --json shows the paused sink, its error and the events it still owes (the sink
        // refreshes its status a few times a second, so the raise may take a moment to show).
        var mqtt: [String: Any]?
        for _ in 0..<20 {
            mqtt = try await Self.mqttStatus(board)
            if Int((mqtt?["detail"] as? [String: String])?["queued"] ?? "") ?? 0 >= 1 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(mqtt?["state"] as? String == "paused", "\(String(describing: mqtt))")
        let detail = mqtt?["detail"] as? [String: String]
        #expect(detail?["last_error"]?.contains("certificate verify failed") == true, "\(String(describing: mqtt))")
        #expect(Int(detail?["queued"] ?? "") ?? 0 >= 1, "the raise waits for the broker: \(String(describing: mqtt))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }

    @Test("an ACL that denies {prefix}/alarms: MQTT pauses at the PUBACK's 'not authorized' and the event stays queued, not lost")
    func aclDenialKeepsTheEvent() async throws {
        let broker = try await Broker(device: "e2e-board", deviceTopics: ["remotair/e2e-board/status", "remotair/e2e-board/telemetry", "remotair/e2e-board/alarms/active"])
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("mqtt paused: TLS or authorisation failure", timeout: .seconds(60)), "\(daemon.stderr.suffix(3000))")
        #expect(daemon.stderr.contains("reason code 135"), "\(daemon.stderr.suffix(3000))")
        // Settled: the pause came from the denied event, which the sink still owes.
        try await Task.sleep(for: .seconds(1))
        let mqtt = try await Self.mqttStatus(board)
        #expect(mqtt?["state"] as? String == "paused", "\(String(describing: mqtt))")
        #expect(Int((mqtt?["detail"] as? [String: String])?["queued"] ?? "") ?? 0 >= 1, "the denied event is still owed: \(String(describing: mqtt))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }

    /// What Home Assistant's MQTT integration accepts for the device classes we use (its sensor and
    /// binary_sensor platforms: a device class's unit must be one of these, and a problem sensor is on/off).
    static let homeAssistantUnits: [String: Set<String>] = [
        "pm1": ["µg/m³"], "pm25": ["µg/m³"], "pm10": ["µg/m³"], "carbon_dioxide": ["ppm"],
        "temperature": ["°C", "°F", "K"], "humidity": ["%"], "pressure": ["Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "psi"],
    ]

    @Test("Home Assistant discovery: retained configs with state, availability (= status topic), unique id, device, and units valid for their device class")
    func homeAssistantDiscovery() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        var text = try String(contentsOfFile: board.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "  telemetry_interval: 1s", with: "  telemetry_interval: 1s\n  home_assistant_discovery: true")
        try text.write(toFile: board.config, atomically: true, encoding: .utf8)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        // Home Assistant subscribes after the board announced itself: what it gets is the retained copies.
        #expect(await daemon.waitForStderr("mqtt connected", timeout: .seconds(30)))
        try await Task.sleep(for: .seconds(1))
        let inbox = Inbox()
        let options = MQTTClientOptions(host: "127.0.0.1", port: broker.port, clientID: "ha-\(UUID().uuidString.prefix(6))", keepalive: 5,
                                        tls: .init(caFile: broker.caFile, certFile: broker.certFile("watcher"), keyFile: broker.keyFile("watcher")))
        let homeAssistant = try MQTTClient(options: options) { inbox.append($0) }
        try await homeAssistant.connect()
        try await homeAssistant.subscribe("homeassistant/#", qos: .atLeastOnce)
        let configs = await inbox.wait(for: 12, timeout: .seconds(30))
        #expect(configs.count == 12, "\(daemon.stderr.split(separator: "\n").filter { $0.contains("mqtt") })")
        var seenClasses: Set<String> = []
        for message in configs {
            let levels = message.topic.split(separator: "/")
            #expect(levels.count == 5 && levels[0] == "homeassistant" && levels[2] == "e2e-board" && levels[4] == "config", "\(message.topic)")
            #expect(message.retain, "discovery configs are retained so Home Assistant finds them after a restart")
            let config = try #require(try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
            for key in ["name", "unique_id", "state_topic", "value_template", "availability_topic", "device"] {
                #expect(config[key] != nil, "\(message.topic) lacks \(key)")
            }
            #expect(config["availability_topic"] as? String == "remotair/e2e-board/status")
            #expect(config["payload_available"] as? String == "online")
            #expect(config["payload_not_available"] as? String == "offline")
            #expect(((config["device"] as? [String: Any])?["identifiers"] as? [String])?.isEmpty == false)
            if let deviceClass = config["device_class"] as? String {
                seenClasses.insert(deviceClass)
                if levels[1] == "binary_sensor" {
                    #expect(deviceClass == "problem")
                    #expect(config["state_topic"] as? String == "remotair/e2e-board/alarms/active")
                } else {
                    let unit = config["unit_of_measurement"] as? String ?? "(none)"
                    #expect(Self.homeAssistantUnits[deviceClass]?.contains(unit) == true, "\(deviceClass) with \(unit)")
                    #expect(config["state_topic"] as? String == "remotair/e2e-board/telemetry")
                }
            }
        }
        #expect(seenClasses.isSuperset(of: ["pm25", "carbon_dioxide", "temperature", "humidity", "pressure", "problem"]))
        await homeAssistant.disconnect()
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }
}

import Foundation
import Logging
import MQTT
import Outbox
import Settings
import Testing
import TestSupport

/// What the daemon's MQTT queue holds before it starts, against a real mosquitto: the outbox is seeded (and, for the
/// rebuild, corrupted) in the board's state directory exactly where remotaird opens it, then the daemon runs.
@Suite("remotaird MQTT queue: events and the rebuilt outbox (real mosquitto, spawned daemon)", .serialized)
struct DaemonMQTTQueueTests {
    typealias Board = DaemonMQTTTests.Board

    /// Opens the board's outbox as the daemon does (state_dir/outbox), lets `body` fill it, closes it.
    static func seed(_ board: Board, _ body: (Outbox) throws -> Void) throws {
        let (outbox, _) = try Outbox.open(directory: board.dir.file("state") + "/outbox", settings: OutboxSettings(), logger: Logger(label: "seed"))
        outbox.mirrorAlarmsToMQTT(true)
        try body(outbox)
        outbox.close()
    }

    @Test("a queued model_activated event goes out on {prefix}/events with QoS 1, byte for byte, not on {prefix}/alarms")
    func modelActivatedOnEvents() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        // The document ModelUpdater's announce queues (kind status, alarm priority, topic events).
        let event = Data(#"{"at":"2026-12-07T18:00:00Z","device_id":"e2e-board","event":"model_activated","new":{"channel":"stable","sha256":"ab","version":"2"},"old":null,"reason":"update"}"#.utf8)
        try Self.seed(board) { outbox in
            try outbox.enqueue(NewItem(kind: .status, createdAt: Date(), json: event, priority: .alarm, mqttTopic: "events"))
        }
        let (watcher, inbox) = try await DaemonMQTTTests().watcher(broker)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        let arrived = await DaemonMQTTTests.wait(timeout: .seconds(60)) { inbox.all.contains { $0.topic == "remotair/e2e-board/events" } }
        #expect(arrived, "\(daemon.stderr.suffix(3000))")
        let events = inbox.all.filter { $0.topic == "remotair/e2e-board/events" }
        #expect(events.count == 1 && Data(events[0].payload) == event && events[0].qos == 1 && !events[0].retain)
        #expect(!inbox.all.contains { $0.topic == "remotair/e2e-board/alarms" && Data($0.payload) == event })
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(20)) == 0)
        await watcher.disconnect()
    }

    @Test("an outbox database corrupted while alarm events were owed: rebuilt from the spool, the events go out again, and alarms/active is re-published")
    func rebuiltOutboxResends() async throws {
        let broker = try await Broker(device: "e2e-board")
        let board = try Board(broker: broker)
        defer { board.dir.remove() }
        let documents = (1...3).map { Data(#"{"event":"alarm","seeded":\#($0)}"#.utf8) }
        try Self.seed(board) { outbox in
            for document in documents {
                try outbox.enqueue(NewItem(kind: .alarm, createdAt: Date(), json: document))
                // Ids carry the enqueue time to the millisecond, the only order a rebuilt database knows.
                usleep(2000)
            }
            #expect(outbox.mqttDepth() == 3)
        }
        let database = board.dir.file("state") + "/outbox/" + Outbox.databaseName
        var garbage = try Data(contentsOf: URL(fileURLWithPath: database))
        for offset in stride(from: 0, to: min(garbage.count, 8192), by: 7) { garbage[offset] = 0x5A }
        try garbage.write(to: URL(fileURLWithPath: database))

        let (watcher, inbox) = try await DaemonMQTTTests().watcher(broker)
        let daemon = try board.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        let published = await DaemonMQTTTests.wait(timeout: .seconds(60)) {
            let alarms = Set(inbox.all.filter { $0.topic == "remotair/e2e-board/alarms" }.map { Data($0.payload) })
            return documents.allSatisfy(alarms.contains)
        }
        #expect(published, "\(daemon.stderr.suffix(3000))")
        #expect(daemon.stderr.contains("outbox database unusable, moved aside"))
        #expect(daemon.stderr.contains("alarm events still in the spool queued again"))
        // In enqueue order.
        let order = inbox.all.filter { $0.topic == "remotair/e2e-board/alarms" }.map { Data($0.payload) }.filter(documents.contains)
        #expect(order == documents)
        // The current set (risk-state.json, outside the outbox) is announced at the connect, retained.
        let active = await DaemonMQTTTests.wait(timeout: .seconds(20)) { inbox.all.contains { $0.topic == "remotair/e2e-board/alarms/active" } }
        #expect(active)
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(20)) == 0)
        await watcher.disconnect()
    }
}

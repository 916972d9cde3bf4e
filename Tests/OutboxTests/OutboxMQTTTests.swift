import Foundation
import Outbox
import Settings
import Synchronization
import TestSupport
import Testing

@Suite("Outbox: the MQTT sink's delivery record")
struct OutboxMQTTTests {
    @Test("alarm events are queued for MQTT in enqueue order, byte for byte; other kinds and unmirrored alarms are not")
    func order() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        try outbox.enqueue(OutboxFixture.alarm(0))
        outbox.mirrorAlarmsToMQTT(true)
        var ids: [ItemID] = []
        for n in 1...5 {
            ids.append(try outbox.enqueue(OutboxFixture.alarm(n)))
            try outbox.enqueue(OutboxFixture.snapshot(n, priority: .alarm))
        }
        let pending = try outbox.pendingForMQTT(limit: 100)
        #expect(pending.map(\.id) == ids)
        #expect(pending.map(\.payload) == (1...5).map { OutboxFixture.alarm($0).json })
        #expect(outbox.mqttDepth() == 5)
        #expect(try outbox.pendingForMQTT(limit: 2).map(\.id) == Array(ids.prefix(2)))
    }

    @Test("an item given an MQTT topic (model_activated on events) is queued with it, in order with the alarms; a plain status item is not")
    func topics() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        outbox.mirrorAlarmsToMQTT(true)
        let date = Date(timeIntervalSince1970: 1_795_780_800)
        let first = try outbox.enqueue(OutboxFixture.alarm(1))
        let event = Data(#"{"event":"model_activated"}"#.utf8)
        let activated = try outbox.enqueue(NewItem(kind: .status, createdAt: date, json: event, priority: .alarm, mqttTopic: "events"))
        try outbox.enqueue(NewItem(kind: .status, createdAt: date, json: Data(#"{"status":1}"#.utf8)))
        let pending = try outbox.pendingForMQTT(limit: 10)
        #expect(pending.map(\.id) == [first, activated])
        #expect(pending.map(\.topic) == ["alarms", "events"])
        #expect(pending.last?.payload == event)
        // The S3 copy is the same item, uploaded as a status document.
        #expect(try outbox.queuedIDs().count == 3)
    }

    @Test("an alarm event joining the MQTT queue wakes the sink at once; a snapshot or an unmirrored alarm does not")
    func wakesTheSink() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        // Not mirrored yet, then a snapshot: the sink sleeps on (a wait that times out returns false).
        try outbox.enqueue(OutboxFixture.alarm(0))
        outbox.mirrorAlarmsToMQTT(true)
        try outbox.enqueue(OutboxFixture.snapshot(1, priority: .alarm))
        #expect(await outbox.mqttWakeup.wait(upTo: .milliseconds(50)) == false)
        // A sink already asleep is woken by the enqueue, long before its deadline, and finds the row there.
        let waiter = Task { () -> (Bool, Int) in
            let woken = await outbox.mqttWakeup.wait(upTo: .seconds(10))
            return (woken, outbox.mqttDepth())
        }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        try outbox.enqueue(OutboxFixture.alarm(2))
        let (woken, depth) = await waiter.value
        #expect(woken)
        #expect(depth == 1)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("the S3 upload and the MQTT publish are independent: neither removes what the other still owes")
    func independent() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        outbox.mirrorAlarmsToMQTT(true)
        let first = try outbox.enqueue(OutboxFixture.alarm(1))
        let second = try outbox.enqueue(OutboxFixture.alarm(2))
        // S3 takes both: the MQTT copies stay.
        for item in try outbox.lease(limit: 10) { try outbox.ack(item.id) }
        #expect(try outbox.queuedIDs().isEmpty)
        #expect(try outbox.pendingForMQTT(limit: 10).map(\.id) == [first, second])
        // PUBACK for the first: only it leaves.
        let head = try #require(try outbox.pendingForMQTT(limit: 1).first)
        try outbox.markMQTTPublished(head.seq)
        #expect(try outbox.pendingForMQTT(limit: 10).map(\.id) == [second])
        #expect(outbox.counter("published.mqtt") == 1)

        // And the other way round: published on MQTT, still queued for S3.
        let third = try outbox.enqueue(OutboxFixture.alarm(3))
        for pending in try outbox.pendingForMQTT(limit: 10) { try outbox.markMQTTPublished(pending.seq) }
        #expect(try outbox.queuedIDs() == [third])
    }

    @Test("unpublished events survive closing and reopening the outbox (a restart), still in order")
    func durable() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        var ids: [ItemID] = []
        do {
            let (outbox, _) = try fixture.open()
            outbox.mirrorAlarmsToMQTT(true)
            for n in 1...3 { ids.append(try outbox.enqueue(OutboxFixture.alarm(n))) }
            outbox.close()
        }
        let (reopened, _) = try fixture.open()
        #expect(try reopened.pendingForMQTT(limit: 10).map(\.id) == ids)
    }

    @Test("a database rebuilt from the spool: the alarm events still in the spool are queued for MQTT again, once, when mirroring is on")
    func resyncAfterRebuild() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        var ids: [ItemID] = []
        do {
            let (outbox, _) = try fixture.open()
            outbox.mirrorAlarmsToMQTT(true)
            for n in 1...4 {
                ids.append(try outbox.enqueue(OutboxFixture.alarm(n)))
                try outbox.enqueue(OutboxFixture.snapshot(n, priority: .alarm))
                // Ids carry the enqueue time to the millisecond: the only order a rebuilt database knows.
                fixture.environment.advance(1)
            }
            // The first already went to the bucket: its JSON left the spool with the upload, so MQTT cannot get it back.
            let uploaded = try #require(try outbox.lease(limit: 10).first { $0.id == ids[0] })
            try outbox.ack(uploaded.id)
            // The second was published on MQTT but is still waiting for S3: sent again after the rebuild (at-least-once).
            try outbox.markMQTTPublished(try #require(try outbox.pendingForMQTT(limit: 1).first).seq)
            outbox.close()
        }
        let databasePath = fixture.directory + "/" + Outbox.databaseName
        var garbage = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        for offset in stride(from: 0, to: min(garbage.count, 8192), by: 7) { garbage[offset] = 0x5A }
        try garbage.write(to: URL(fileURLWithPath: databasePath))

        let (rebuilt, report) = try fixture.open()
        #expect(report.databaseMovedAside != nil)
        // Not mirrored (no mqtt: section at this start): nothing queued, and the debt is kept for later.
        #expect(rebuilt.mqttDepth() == 0)
        rebuilt.mirrorAlarmsToMQTT(false)
        #expect(rebuilt.mqttDepth() == 0)
        rebuilt.mirrorAlarmsToMQTT(true)
        let pending = try rebuilt.pendingForMQTT(limit: 10)
        #expect(pending.map(\.id) == Array(ids.dropFirst()), "in enqueue order, the uploaded one gone")
        #expect(pending.map(\.payload) == (2...4).map { OutboxFixture.alarm($0).json })
        #expect(pending.allSatisfy { $0.topic == "alarms" })
        #expect(rebuilt.counter("resynced.mqtt") == 3)
        // Once: a later start with mirroring on adds nothing.
        rebuilt.mirrorAlarmsToMQTT(true)
        rebuilt.close()
        let (reopened, _) = try fixture.open()
        reopened.mirrorAlarmsToMQTT(true)
        #expect(reopened.mqttDepth() == 3)
    }

    @Test("bounded by max_items (oldest dropped and counted), alarm TTL applies, oversized documents are not mirrored")
    func bounds() throws {
        let fixture = try OutboxFixture { $0.maxItems = 3 }
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        outbox.mirrorAlarmsToMQTT(true)
        var ids: [ItemID] = []
        for n in 1...4 {
            ids.append(try outbox.enqueue(OutboxFixture.alarm(n)))
            // S3 keeps up, so only the MQTT queue is over its bound.
            for item in try outbox.lease(limit: 10) { try outbox.ack(item.id) }
        }
        #expect(try outbox.pendingForMQTT(limit: 10).map(\.id) == Array(ids.suffix(3)))
        #expect(outbox.counter("evicted.mqtt") == 1)

        let big = NewItem(kind: .alarm, createdAt: fixture.environment.now.withLock { $0 }, json: Data(repeating: 0x20, count: Outbox.maxMQTTPayloadBytes + 1))
        try outbox.enqueue(big)
        #expect(outbox.mqttDepth() == 3)
        #expect(outbox.counter("refused.mqtt") == 1)

        fixture.environment.advance(fixture.settings.ttl.alarm.asTimeInterval + 60)
        try outbox.expire()
        #expect(outbox.mqttDepth() == 0)
        #expect(outbox.counter("expired.mqtt") == 3)
    }
}

extension Duration {
    fileprivate var asTimeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

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

import Foundation
import Outbox
import Settings
import Synchronization
import TestSupport
import Testing

/// What the outbox answers about one item and about its own refusals: read by `remotairctl alarms` and
/// `status`, so each state is the outbox's record, not a guess.
@Suite struct OutboxProgressTests {
    @Test func anItemIsQueuedThenUploadingThenUploadedWithItsTimeAcrossARestart() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        var (outbox, _) = try fixture.open()
        let created = fixture.environment.now.withLock { $0 }
        let id = try outbox.enqueue(OutboxFixture.alarm(1, at: created))
        #expect(outbox.progress(of: id) == .queued(kind: .alarm, createdAt: created, attempts: 0, lastError: nil))

        var leased = try outbox.lease(limit: 1)
        #expect(leased.map(\.id) == [id])
        #expect(outbox.progress(of: id) == .uploading(kind: .alarm, createdAt: created, attempts: 0))
        try outbox.fail(id, error: "HTTP 503", retryAt: created)
        #expect(outbox.progress(of: id) == .queued(kind: .alarm, createdAt: created, attempts: 1, lastError: "HTTP 503"))

        fixture.environment.advance(60)
        leased = try outbox.lease(limit: 1)
        try outbox.ack(id)
        let uploadedAt = created.addingTimeInterval(60)
        #expect(outbox.progress(of: id) == .uploaded(kind: .alarm, createdAt: created, uploadedAt: uploadedAt))
        outbox.close()

        (outbox, _) = try fixture.open()
        #expect(outbox.progress(of: id) == .uploaded(kind: .alarm, createdAt: created, uploadedAt: uploadedAt))
        #expect(outbox.progress(of: ItemID.make(at: created)) == .unknown)
        outbox.close()
    }

    @Test func uploadRecordsArePrunedAfterTheirRetention() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        let id = try outbox.enqueue(OutboxFixture.alarm(1))
        _ = try outbox.lease(limit: 1)
        try outbox.ack(id)
        fixture.environment.advance(399 * 86400)
        try outbox.expire()
        #expect(outbox.progress(of: id) != .unknown)
        fixture.environment.advance(2 * 86400)
        try outbox.expire()
        #expect(outbox.progress(of: id) == .unknown)
        outbox.close()
    }

    @Test func refusalsAreKeptPerKindUntilThatKindIsAcceptedAgain() throws {
        let fixture = try OutboxFixture { $0.freeSpaceFloor = 100 << 20 }
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        #expect(outbox.refusals().isEmpty)
        fixture.environment.free.withLock { $0 = 10 << 20 }
        #expect(throws: OutboxError.self) { try outbox.enqueue(OutboxFixture.snapshot(1)) }
        #expect(throws: OutboxError.self) { try outbox.enqueue(OutboxFixture.snapshot(2, kind: .sample)) }
        try outbox.enqueue(OutboxFixture.alarm(3))
        #expect(outbox.refusals().mapValues(\.code) == [.snapshot: .belowFreeSpaceFloor, .sample: .belowFreeSpaceFloor])
        #expect(outbox.freeSpaceReport().free == 10 << 20 && outbox.freeSpaceReport().floor == 100 << 20)

        fixture.environment.free.withLock { $0 = 60 << 20 }
        try outbox.enqueue(OutboxFixture.snapshot(4))
        #expect(outbox.refusals().mapValues(\.code) == [.sample: .belowFreeSpaceFloor])
        outbox.close()
    }
}

import Digests
import Foundation
import GRDB
import Outbox
import Settings
import Synchronization
import TestSupport
import Testing

@Suite struct OutboxStorageTests {
    @Test func enqueueLeaseAckRemovesEverything() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, report) = try fixture.open()
        #expect(report.isClean)
        let alarm = try outbox.enqueue(OutboxFixture.alarm(1))
        let snapshot = try outbox.enqueue(OutboxFixture.snapshot(2))
        #expect(try fixture.spoolFiles().count == 3)

        let leased = try outbox.lease(limit: 10)
        // Alarms first, then the snapshot with its JPEG before its sidecar.
        #expect(leased.map(\.id) == [alarm, snapshot])
        #expect(leased[1].blobs.map(\.part) == [.jpg, .json])
        #expect(leased[1].blobs[0].bytes == OutboxFixture.jpeg(size: 1000, seed: 2))
        #expect(leased[1].blobs[0].md5 == Digest.md5(OutboxFixture.jpeg(size: 1000, seed: 2)))
        // Leased items are not handed out twice.
        #expect(try outbox.lease(limit: 10).isEmpty)

        try outbox.ack(alarm)
        try outbox.fail(snapshot, error: "HTTP 503 SlowDown", retryAt: fixture.environment.now.withLock { $0 }.addingTimeInterval(30))
        #expect(try outbox.lease(limit: 10).isEmpty)
        fixture.environment.advance(31)
        let again = try outbox.lease(limit: 10)
        #expect(again.map(\.id) == [snapshot])
        #expect(again[0].attempts == 1)
        try outbox.ack(snapshot)

        let status = outbox.status()
        #expect(status.queuedItems == 0)
        #expect(status.uploaded == 2)
        #expect(status.lastSuccess != nil)
        #expect(try fixture.spoolFiles().isEmpty)
        outbox.close()
    }

    @Test func acknowledgedItemsSurviveReopen() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        var ids: [ItemID] = []
        do {
            let (outbox, _) = try fixture.open()
            for n in 0..<5 { ids.append(try outbox.enqueue(OutboxFixture.alarm(n))) }
            ids.append(try outbox.enqueue(OutboxFixture.snapshot(9)))
            // No close: as after a crash.
        }
        let (outbox, report) = try fixture.open()
        #expect(report.isClean)
        #expect(report.itemsQueued == 6)
        #expect(Set(try outbox.lease(limit: 100).map(\.id)) == Set(ids))
        outbox.close()
    }

    @Test func recoveryRemovesTempFilesAndOrphansAndCountsMissingBlobs() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        let kept = try outbox.enqueue(OutboxFixture.alarm(1))
        let damaged = try outbox.enqueue(OutboxFixture.snapshot(2))
        outbox.close()

        let orphan = ItemID.make(at: Date())
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(fixture.spool)/\(orphan.rawValue).alarm.periodic.json"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: "\(fixture.spool)/\(orphan.rawValue).sample.periodic.jpg.tmp"))
        try FileManager.default.removeItem(atPath: "\(fixture.spool)/\(damaged.rawValue).snapshot.periodic.jpg")

        let (reopened, report) = try fixture.open()
        #expect(report.temporaryFilesRemoved == 1)
        #expect(report.orphanBlobsRemoved == 1)
        #expect(report.itemsMarkedLost == 1)
        #expect(report.itemsQueued == 1)
        let status = reopened.status()
        #expect(status.lost == 1)
        #expect(status.entries.contains { $0.kind == .snapshot && $0.state == .lost && $0.items == 1 })
        #expect(status.recovery == report)
        #expect(try reopened.lease(limit: 10).map(\.id) == [kept])
        // The lost item's remaining sidecar is gone too; only the kept alarm's blob is left.
        #expect(try fixture.spoolFiles() == ["\(kept.rawValue).alarm.periodic.json"])
        reopened.close()
    }

    @Test func tornBlobsAreCountedLostAndNeverLeased() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        let truncated = try outbox.enqueue(OutboxFixture.snapshot(1))
        let tailed = try outbox.enqueue(OutboxFixture.snapshot(2))
        let flipped = try outbox.enqueue(OutboxFixture.snapshot(3))
        let good = try outbox.enqueue(OutboxFixture.snapshot(4))
        outbox.close()

        func path(_ id: ItemID) -> String { "\(fixture.spool)/\(id.rawValue).snapshot.periodic.jpg" }
        let handle = try #require(FileHandle(forUpdatingAtPath: path(truncated)))
        try handle.truncate(atOffset: 500)
        try handle.close()
        let tail = try #require(FileHandle(forUpdatingAtPath: path(tailed)))
        try tail.seekToEnd()
        tail.write(Data(repeating: 0xAB, count: 77))
        try tail.close()
        // Same size, different bytes: only the SHA-256 check at lease time can catch this one.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path(flipped)))
        bytes[100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path(flipped)))

        let (reopened, report) = try fixture.open()
        #expect(report.itemsMarkedLost == 2)
        let leased = try reopened.lease(limit: 10)
        #expect(leased.map(\.id) == [good])
        let status = reopened.status()
        #expect(status.lost == 3)
        #expect(status.queuedItems == 1)
        #expect(!status.entries.isEmpty)
        _ = tailed
        reopened.close()
    }

    @Test func corruptDatabaseIsMovedAsideAndTheSpoolRescanned() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        var ids: Set<ItemID> = []
        for n in 0..<3 { ids.insert(try outbox.enqueue(OutboxFixture.alarm(n))) }
        for n in 3..<5 { ids.insert(try outbox.enqueue(OutboxFixture.snapshot(n, priority: .alarm))) }
        outbox.close()
        // A torn sample whose JPEG lost its end: not rebuilt, counted.
        let torn = ItemID.make(at: Date())
        try Data(#"{"sample":1}"#.utf8).write(to: URL(fileURLWithPath: "\(fixture.spool)/\(torn.rawValue).sample.periodic.json"))
        try OutboxFixture.jpeg(size: 300).prefix(200).write(to: URL(fileURLWithPath: "\(fixture.spool)/\(torn.rawValue).sample.periodic.jpg"))

        let databasePath = fixture.directory + "/" + Outbox.databaseName
        var garbage = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        for offset in stride(from: 0, to: min(garbage.count, 8192), by: 7) { garbage[offset] = 0x5A }
        try garbage.write(to: URL(fileURLWithPath: databasePath))

        let (reopened, report) = try fixture.open()
        let aside = try #require(report.databaseMovedAside)
        #expect(FileManager.default.fileExists(atPath: aside + "/" + Outbox.databaseName))
        #expect(report.itemsRebuilt == 5)
        #expect(report.itemsMarkedLost == 1)
        let leased = try reopened.lease(limit: 10)
        #expect(Set(leased.map(\.id)) == ids)
        #expect(leased.prefix(3).allSatisfy { $0.kind == .alarm })
        #expect(reopened.status().lost == 1)
        let check = try DatabaseQueue(path: databasePath).read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        #expect(check == ["ok"])
        reopened.close()
    }

    @Test func fillingToTwiceTheBudgetStaysWithinItAndEvictsInOrder() throws {
        let budget: Int64 = 2 << 20
        let fixture = try OutboxFixture { $0.maxBytes = budget; $0.maxItems = 100_000 }
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        var accepted: [ItemKind: Int] = [:]
        var offered: [ItemKind: Int] = [:]
        var written: Int64 = 0
        var n = 0
        var largest: Int64 = 0
        while written < 2 * budget {
            n += 1
            let item: NewItem
            switch n % 4 {
            case 0: item = OutboxFixture.alarm(n)
            case 1: item = OutboxFixture.snapshot(n, size: 20_000, kind: .sample)
            case 2: item = OutboxFixture.snapshot(n, size: 30_000, priority: .periodic)
            default: item = OutboxFixture.snapshot(n, size: 25_000, priority: .alarm)
            }
            fixture.environment.advance(1)
            let size = Int64(item.json.count + (item.jpeg?.count ?? 0))
            largest = max(largest, size)
            written += size
            offered[item.kind, default: 0] += 1
            do {
                try outbox.enqueue(item)
                accepted[item.kind, default: 0] += 1
            } catch {
                #expect(error.code == .budgetFull)
            }
            let status = outbox.status()
            #expect(status.queuedBytes <= budget + largest)
        }
        let status = outbox.status()
        let onDisk = try fixture.spoolFiles().reduce(Int64(0)) { sum, file in
            sum + ((try? FileManager.default.attributesOfItem(atPath: fixture.spool + "/" + file)[.size] as? Int64) ?? 0)
        }
        #expect(onDisk == status.queuedBytes)
        #expect(status.queuedBytes <= budget)
        // Every alarm is still there; samples went first, then periodic snapshots.
        #expect(status.queued(.alarm) == accepted[.alarm])
        #expect(status.queued(.sample) == 0)
        // Every sample is gone, evicted or refused on arrival, and each was counted exactly once.
        #expect((status.evictions["sample"] ?? 0) == offered[.sample])
        #expect((status.evictions["snapshot"] ?? 0) + status.queued(.snapshot) == offered[.snapshot])
        #expect((status.evictions["snapshot"] ?? 0) > 0)
        let snapshots = try outbox.lease(limit: 10_000).filter { $0.kind == .snapshot }
        #expect(snapshots.contains { $0.priority == .alarm })
        // Whatever periodic snapshots remain are the newest ones.
        outbox.close()
    }

    @Test func freeSpaceFloorRefusesSamplesFirst() throws {
        let fixture = try OutboxFixture { $0.freeSpaceFloor = 100 << 20 }
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        fixture.environment.free.withLock { $0 = 80 << 20 }
        #expect(throws: OutboxError.self) { try outbox.enqueue(OutboxFixture.snapshot(1, kind: .sample)) }
        try outbox.enqueue(OutboxFixture.snapshot(2))
        fixture.environment.free.withLock { $0 = 10 << 20 }
        #expect(throws: OutboxError.self) { try outbox.enqueue(OutboxFixture.snapshot(3)) }
        try outbox.enqueue(OutboxFixture.alarm(4))
        #expect(outbox.counter("refused.sample") == 1)
        #expect(outbox.counter("refused.snapshot") == 1)
        #expect(outbox.status().queuedItems == 2)
        outbox.close()
    }

    @Test func itemsPastTheirTTLExpireAndAreCounted() throws {
        let fixture = try OutboxFixture { $0.ttl.sample = .seconds(3600); $0.ttl.alarm = .seconds(86400) }
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        let start = fixture.environment.now.withLock { $0 }
        try outbox.enqueue(OutboxFixture.snapshot(1, kind: .sample, at: start))
        try outbox.enqueue(OutboxFixture.alarm(2, at: start))
        fixture.environment.advance(7200)
        #expect(try outbox.expire() == 1)
        let status = outbox.status()
        #expect(status.queued(.sample) == 0)
        #expect(status.queued(.alarm) == 1)
        #expect(status.evictions["sample"] == 1)
        #expect(try fixture.spoolFiles().count == 1)
        outbox.close()
    }

    @Test func malformedItemsAreRefused() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        #expect(throws: OutboxError.self) { try outbox.enqueue(NewItem(kind: .alarm, createdAt: Date(), json: Data())) }
        #expect(throws: OutboxError.self) { try outbox.enqueue(NewItem(kind: .snapshot, createdAt: Date(), json: Data("{}".utf8))) }
        #expect(throws: OutboxError.self) { try outbox.enqueue(NewItem(kind: .alarm, createdAt: Date(), json: Data("{}".utf8), jpeg: Data([1]))) }
        let id = ItemID.make()
        try outbox.enqueue(NewItem(id: id, kind: .alarm, createdAt: Date(), json: Data("{}".utf8)))
        #expect(throws: OutboxError.self) { try outbox.enqueue(NewItem(id: id, kind: .alarm, createdAt: Date(), json: Data("{}".utf8))) }
        outbox.close()
        #expect(throws: OutboxError.self) { try outbox.enqueue(OutboxFixture.alarm(1)) }
    }
}

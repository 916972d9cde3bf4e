import Foundation
import GRDB
import Synchronization
@testable import Outbox
import TestSupport
import Testing

@Suite struct OutboxDurabilityTests {
    /// The promise behind "acknowledged": WAL with synchronous=FULL on the writer connection, after every set-up step.
    /// Recovery reports progress as it goes (the daemon turns that into EXTEND_TIMEOUT_USEC for systemd),
    /// both when rows are checked against the spool and when a lost database is rebuilt from it.
    @Test func recoveryReportsProgressThroughALargeOutbox() throws {
        let fixture = try OutboxFixture()
        let (outbox, _) = try fixture.open()
        for n in 0..<600 { _ = try outbox.enqueue(OutboxFixture.alarm(n)) }
        outbox.close()
        let calls = Mutex(0)
        let (reopened, report) = try fixture.open(progress: { calls.withLock { $0 += 1 } })
        #expect(report.itemsQueued == 600)
        #expect(calls.withLock { $0 } >= 4)   // before opening, before checking, then every 256 rows
        reopened.close()

        for name in ["outbox.sqlite", "outbox.sqlite-wal", "outbox.sqlite-shm"] { unlink(fixture.directory + "/" + name) }
        calls.withLock { $0 = 0 }
        let (rebuilt, rebuiltReport) = try fixture.open(progress: { calls.withLock { $0 += 1 } })
        #expect(rebuiltReport.itemsQueued == 600)
        #expect(calls.withLock { $0 } >= 11)   // every 64 items rebuilt
        rebuilt.close()
    }

    @Test func theWriterConnectionIsWALWithSynchronousFull() throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let (outbox, _) = try fixture.open()
        let (mode, synchronous) = try outbox.database.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(synchronous == 2) // FULL
        outbox.close()
    }
}

import Foundation
import GRDB
@testable import Outbox
import TestSupport
import Testing

@Suite struct OutboxDurabilityTests {
    /// The promise behind "acknowledged": WAL with synchronous=FULL on the writer connection, after every set-up step.
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

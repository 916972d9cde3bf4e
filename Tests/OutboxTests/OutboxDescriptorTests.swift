import Foundation
import Outbox
import TestSupport
import Testing

/// The outbox's SQLite connection over many open/close cycles, including the recovery path that moves a damaged
/// database aside. Only descriptors of files under the fixture's folder count: none may be left.
@Suite("outbox descriptors", .serialized)
struct OutboxDescriptorTests {
    @Test("30 opens and closes leave no descriptor behind, though the closed outboxes are still referenced")
    func openClose() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let cycles = 30
        // Services still hold the outbox after the daemon closed it at shutdown: close() alone must release the files.
        var closed: [Outbox] = []
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix(fixture.temp.path) }) {
            for _ in 0..<cycles {
                let (outbox, _) = try fixture.open()
                outbox.close()
                closed.append(outbox)
            }
        }
        #expect(leaked.isEmpty, "\(leaked)")
        #expect(closed.count == cycles)
    }

    @Test("30 outboxes dropped without close leave no descriptor behind")
    func dropped() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let cycles = 30
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix(fixture.temp.path) }) {
            for _ in 0..<cycles { _ = try fixture.open() }
        }
        #expect(leaked.isEmpty, "\(leaked)")
    }

    @Test("a damaged database moved aside 10 times leaves no descriptor behind")
    func damaged() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.temp.remove() }
        let cycles = 10
        _ = try fixture.open().0.close()
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix(fixture.temp.path) }) {
            for _ in 0..<cycles {
                try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: fixture.directory + "/" + Outbox.databaseName))
                let (outbox, report) = try fixture.open()
                #expect(report.databaseMovedAside != nil)
                outbox.close()
            }
        }
        #expect(leaked.isEmpty, "\(leaked)")
    }
}

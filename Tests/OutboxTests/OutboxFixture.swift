import Foundation
import Logging
import Outbox
import Settings
import Synchronization
import TestSupport

/// A settable clock and free-space figure shared with the outbox under test.
final class TestEnvironment: Sendable {
    let now = Mutex(Date(timeIntervalSince1970: 1_795_780_800))
    let free = Mutex<Int64?>(nil)

    func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// An outbox in a temporary folder.
struct OutboxFixture {
    let temp: TemporaryDirectory
    let environment = TestEnvironment()
    var settings = OutboxSettings()

    init(_ configure: (inout OutboxSettings) -> Void = { _ in }) throws {
        temp = try TemporaryDirectory("outbox")
        configure(&settings)
    }

    var directory: String { temp.file("outbox") }
    var spool: String { directory + "/spool" }

    func open(progress: @escaping @Sendable () -> Void = {}) throws -> (Outbox, RecoveryReport) {
        let environment = environment
        return try Outbox.open(
            directory: directory, settings: settings, logger: Logger(label: "outbox-test"),
            freeSpace: { _ in environment.free.withLock { $0 } }, clock: { environment.now.withLock { $0 } }, progress: progress)
    }

    func spoolFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: spool).sorted()
    }

    static func alarm(_ n: Int, at date: Date = Date(timeIntervalSince1970: 1_795_780_800)) -> NewItem {
        NewItem(kind: .alarm, createdAt: date, json: Data(#"{"alarm":\#(n)}"#.utf8))
    }

    /// A small well-formed JPEG-shaped body (SOI ... EOI) of `size` bytes.
    static func jpeg(size: Int, seed: UInt8 = 1) -> Data {
        var bytes = [UInt8](repeating: seed, count: max(size, 4))
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ Int(seed)) }
        bytes[0] = 0xFF; bytes[1] = 0xD8
        bytes[bytes.count - 2] = 0xFF; bytes[bytes.count - 1] = 0xD9
        return Data(bytes)
    }

    static func snapshot(_ n: Int, size: Int = 1000, priority: PriorityClass = .periodic, kind: ItemKind = .snapshot,
                         at date: Date = Date(timeIntervalSince1970: 1_795_780_800)) -> NewItem {
        NewItem(kind: kind, createdAt: date, json: Data(#"{"snapshot":\#(n)}"#.utf8), jpeg: jpeg(size: size, seed: UInt8(truncatingIfNeeded: n)), priority: priority)
    }
}

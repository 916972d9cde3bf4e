import Foundation
import Logging
import ObjectLayout
import Outbox
import Settings
import TestSupport
import Uplink

/// An outbox in a temp folder plus helpers to run an upload worker against it until it drains.
struct UplinkFixture {
    let temp: TemporaryDirectory
    let outbox: Outbox
    let deviceID = "test-board"

    init() throws {
        temp = try TemporaryDirectory("uplink")
        var settings = OutboxSettings()
        settings.freeSpaceFloor = 0
        (outbox, _) = try Outbox.open(directory: temp.file("outbox"), settings: settings, logger: Logger(label: "outbox"))
    }

    func cleanUp() {
        outbox.close()
        temp.remove()
    }

    static func jpeg(_ n: Int, size: Int = 2000) -> Data {
        var bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ n) }
        bytes[0] = 0xFF; bytes[1] = 0xD8; bytes[size - 2] = 0xFF; bytes[size - 1] = 0xD9
        return Data(bytes)
    }

    /// Enqueues a mix; returns every expected object key with its bytes.
    func enqueueMix(alarms: Int, snapshots: Int, samples: Int, uplink: UplinkSettings, at date: Date = Date()) throws -> [String: Data] {
        var expected: [String: Data] = [:]
        func add(_ item: NewItem) throws {
            let id = try outbox.enqueue(item)
            expected[ObjectKey.make(prefix: uplink.prefix, deviceID: deviceID, kind: item.kind.rawValue, createdAt: item.createdAt, id: id.rawValue, fileExtension: Blob.Part.json.rawValue)] = item.json
            if let jpeg = item.jpeg {
                expected[ObjectKey.make(prefix: uplink.prefix, deviceID: deviceID, kind: item.kind.rawValue, createdAt: item.createdAt, id: id.rawValue, fileExtension: Blob.Part.jpg.rawValue)] = jpeg
            }
        }
        for n in 0..<samples { try add(NewItem(kind: .sample, createdAt: date, json: Data(#"{"sample":\#(n)}"#.utf8), jpeg: Self.jpeg(n))) }
        for n in 0..<snapshots { try add(NewItem(kind: .snapshot, createdAt: date, json: Data(#"{"snapshot":\#(n)}"#.utf8), jpeg: Self.jpeg(100 + n), priority: .alarm)) }
        for n in 0..<alarms { try add(NewItem(kind: .alarm, createdAt: date, json: Data(#"{"alarm":\#(n)}"#.utf8))) }
        return expected
    }

    /// Starts `worker.run()` in a task.
    static func start(_ worker: UploadWorker) -> Task<Void, Never> {
        Task { try? await worker.run() }
    }

    /// Waits until `condition` holds, up to `timeout`.
    static func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}

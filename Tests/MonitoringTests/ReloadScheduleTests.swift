import Foundation
import Logging
@testable import Monitoring
import Testing

/// A reload (SIGHUP, `remotairctl reload`) that changes the snapshot interval takes effect at the next
/// capture, as does a new interval across a restart (the configuration wins over the interval the state file recorded).
@Suite("reload: a changed schedule takes effect")
struct ReloadScheduleTests {
    typealias Board = MainJobTests.Board

    /// The board's monitor with its schedule replaced, as the reloader does it.
    static func reload(_ board: Board, interval: TimeInterval? = nil, snapshotInterval: TimeInterval? = nil) async {
        var settings = await board.monitor.currentSettings
        if let interval { settings.schedule = CaptureSchedule(interval: interval, jitter: 0) }
        if let snapshotInterval { settings.snapshotInterval = snapshotInterval }
        await board.monitor.reload(settings: settings, classifier: ScriptedClassifier(), provenance: await board.monitor.currentProvenance)
    }

    @Test("a shorter snapshot interval applies from the next capture")
    func snapshotIntervalReloads() async throws {
        let board = Board()  // snapshots daily, captures every 900 s on the scripted clock
        _ = await board.capture()
        #expect(board.queue.documents.count == 2, "the day's first capture keeps a periodic snapshot per camera")
        await Self.reload(board, snapshotInterval: 600)
        _ = await board.capture()
        #expect(board.queue.documents.count == 4, "the periodic snapshots under the new 600 s interval were not taken")
    }

    @Test("a snapshot interval changed across a restart applies, though the state file recorded the old one")
    func snapshotIntervalAfterRestart() async throws {
        var board = Board()
        _ = await board.capture()
        #expect(board.queue.documents.count == 2)
        var settings = board.settings
        settings.snapshotInterval = 600
        board.monitor = Board.makeMonitor(settings: settings, cameras: board.cameras, queue: board.queue, store: board.store, clock: board.clock)
        _ = await board.capture()
        #expect(board.queue.documents.count == 4)
    }
}

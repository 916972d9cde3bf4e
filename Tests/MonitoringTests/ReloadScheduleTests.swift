import Foundation
import Health
import Logging
@testable import Monitoring
import Testing

/// A reload (SIGHUP, `remotairctl reload`) that changes the capture schedule or the snapshot interval takes
/// effect at once, not after the wait computed under the old settings (issue 18's reload check: 1 h -> 10 s
/// and no capture within 25 s). The capture loop sleeps on the real clock, so these tests use short intervals
/// and generous margins; the snapshot tests use the scripted clock. A restart with a new snapshot interval
/// applies it too (the configuration wins over the interval the state file recorded).
@Suite("reload: a changed schedule reaches the waiting capture loop")
struct ReloadScheduleTests {
    typealias Board = MainJobTests.Board

    /// The board's monitor with its schedule replaced, as the reloader does it.
    static func reload(_ board: Board, interval: TimeInterval? = nil, snapshotInterval: TimeInterval? = nil) async {
        var settings = await board.monitor.currentSettings
        if let interval { settings.schedule = CaptureSchedule(interval: interval, jitter: 0) }
        if let snapshotInterval { settings.snapshotInterval = snapshotInterval }
        await board.monitor.reload(settings: settings, classifier: ScriptedClassifier(), provenance: await board.monitor.currentProvenance)
    }

    /// Runs the capture loop (first capture at once, no jitter) until `body` returns.
    static func withLoop(_ board: Board, _ body: () async throws -> Void) async throws {
        let (triggers, _) = AsyncStream<CaptureTrigger>.makeStream()
        let loop = CaptureLoopService(monitor: board.monitor, health: HealthRegistry(), triggers: triggers, firstCaptureAfter: .zero,
                                      logger: Logger(label: "test"), random: { 0 })
        let running = Task { try await loop.run() }
        defer { running.cancel() }
        try await body()
    }

    /// Waits until the cameras have been asked `count` times, or `limit` passes; returns the count then.
    static func captures(_ board: Board, reach count: Int, within limit: Duration) async throws -> Int {
        let end = ContinuousClock.now + limit
        while board.cameras.captureCount < count && ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(10))
        }
        return board.cameras.captureCount
    }

    @Test("a shorter interval brings the next scheduled capture forward instead of waiting out the old interval")
    func shorterIntervalTakesEffect() async throws {
        let board = Board()  // every 900 s
        try await Self.withLoop(board) {
            let count1 = try await Self.captures(board, reach: 1, within: .seconds(10))
            #expect(count1 == 1)
            await Self.reload(board, interval: 0.2)
            let count2 = try await Self.captures(board, reach: 2, within: .seconds(5))
            #expect(count2 >= 2, "no capture after the interval was shortened")
        }
    }

    @Test("the next capture is counted from the last capture, not from the reload")
    func recomputedFromLastCapture() async throws {
        let board = Board()
        try await Self.withLoop(board) {
            let count3 = try await Self.captures(board, reach: 1, within: .seconds(10))
            #expect(count3 == 1)
            try await Task.sleep(for: .seconds(2))
            let reloadedAt = ContinuousClock.now
            await Self.reload(board, interval: 3)
            // Due about 1 s after the reload (3 s after the capture); counted from the reload it would be 3 s.
            let count4 = try await Self.captures(board, reach: 2, within: .milliseconds(2500))
            #expect(count4 == 2)
            #expect(ContinuousClock.now - reloadedAt < .milliseconds(2500))
        }
    }

    @Test("a longer interval pushes the next scheduled capture later")
    func longerIntervalPushesLater() async throws {
        let board = Board()
        await Self.reload(board, interval: 1.5)
        try await Self.withLoop(board) {
            let count5 = try await Self.captures(board, reach: 1, within: .seconds(10))
            #expect(count5 == 1)
            await Self.reload(board, interval: 900)
            try await Task.sleep(for: .seconds(3))
            #expect(board.cameras.captureCount == 1, "the capture due under the old 1.5 s interval still ran")
        }
    }

    @Test("the same schedule reloaded again neither captures nor moves the next capture")
    func unchangedScheduleKeepsDeadline() async throws {
        let board = Board()
        await Self.reload(board, interval: 2)
        try await Self.withLoop(board) {
            let count6 = try await Self.captures(board, reach: 1, within: .seconds(10))
            #expect(count6 == 1)
            for _ in 0..<3 { await Self.reload(board, interval: 2) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(board.cameras.captureCount == 1, "a reload triggered a capture of its own")
            let count7 = try await Self.captures(board, reach: 2, within: .seconds(5))
            #expect(count7 == 2)
        }
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

/// Sample thresholds and the daily cap follow the configuration on reload and restart; the count taken today stays.
@Suite("reload: the day's sample count survives a reload")
struct ReloadSampleCapTests {
    @Test("a reload does not reopen today's sample cap")
    func sampleCapKeptAcrossReload() async throws {
        let board = MainJobTests.Board(samplesPerDay: 1)
        // Both cameras unsure (0.55 is within 0.1 of the 0.6 threshold): each capture wants a sample.
        _ = await board.capture(.frame(dirty: 0.55))
        _ = await board.capture()
        let beforeReload = board.queue.documents.filter { $0.kind == .sample }.count
        #expect(beforeReload <= 1)
        await ReloadScheduleTests.reload(board)
        _ = await board.capture()
        let afterReload = board.queue.documents.filter { $0.kind == .sample }.count
        #expect(afterReload == beforeReload, "the reload reset today's count and a sample over the cap of 1 was queued")
    }

    @Test("a sample cap changed across a restart applies, though the state file recorded the old one")
    func sampleCapAfterRestart() async throws {
        var board = MainJobTests.Board(samplesPerDay: 0)
        _ = await board.capture(.frame(dirty: 0.55))
        _ = await board.capture()
        #expect(board.queue.documents.filter { $0.kind == .sample }.isEmpty)
        var settings = board.settings
        settings.samplesPerDay = 6
        board.monitor = MainJobTests.Board.makeMonitor(settings: settings, cameras: board.cameras, queue: board.queue, store: board.store,
                                                       clock: board.clock)
        _ = await board.capture()
        #expect(board.queue.documents.filter { $0.kind == .sample }.count == 2, "the restored cap of 0 outlived the restart")
    }
}

import Foundation
import GPIO
import Simulation
import Testing
@testable import Vision

@Suite("Status LED and push button")
struct GPIOServicesTests {
    @Test func debouncerRejectsBounces() {
        var debouncer = Debouncer(interval: .milliseconds(50))
        let accepted = [1000, 1003, 1049, 1050, 2000].map { debouncer.accept(at: .milliseconds($0)) }
        #expect(accepted == [true, false, false, true, true])
    }

    @Test func bouncingPressTriggersOneCapture() async throws {
        let chip = InMemoryGPIOChip(lineCount: 8)
        let line = try chip.requestEdgeEvents(.offset(3), consumer: "test", edge: .falling, activeLow: true, pullUp: true)
        let presses = Recorder<Int>()
        let service = ButtonService(line: line, debounce: .milliseconds(50), waitSlice: .milliseconds(2)) {
            presses.append(1)
        }
        let task = Task { try await service.run() }
        // One press with contact bounce: falling edges 0, 3 and 8 ms apart, rising edges between.
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(100))
        chip.injectEdge(.rising, on: .offset(3), at: .milliseconds(101))
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(103))
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(108))
        try await waitUntil { presses.all.count >= 1 }
        try await Task.sleep(for: .milliseconds(30))
        #expect(presses.all.count == 1)
        // A second, real press later.
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(900))
        try await waitUntil { presses.all.count >= 2 }
        task.cancel()
        _ = try? await task.value
        #expect(presses.all.count == 2)
        #expect(!chip.isRequested(.offset(3)))  // released on stop
    }

    /// An idle button must not poll: its thread blocks in the line's wait for a whole slice (issue 20: polling
    /// every 20 ms cost fifty wakeups a second).
    @Test func idleButtonBlocksInsteadOfPolling() async throws {
        let line = CountingLine()
        let task = Task { try await ButtonService(line: line, waitSlice: .seconds(1)) {}.run() }
        try await Task.sleep(for: .milliseconds(500))
        task.cancel()
        _ = try? await task.value
        // One wait started at once (a second one if the slice ran out on a slow machine); polling would be 25.
        #expect((1...2).contains(line.waits), "\(line.waits) waits in 0.5 s")
        #expect(line.released)
    }

    @Test func statusPatternFollowsFaultsAndAlarms() async {
        let indicator = StatusIndicator()
        #expect(await indicator.pattern == .ok)
        await indicator.setAlarm(true)
        #expect(await indicator.pattern == .alarm)
        await indicator.setFault("camera:upstream", true)
        #expect(await indicator.pattern == .fault)
        await indicator.setFault("camera:upstream", false)
        #expect(await indicator.pattern == .alarm)
    }

    @Test func statusLEDBlinksTheFaultPatternAndEndsDark() async throws {
        let chip = InMemoryGPIOChip(lineCount: 8)
        let status = try chip.requestOutput(.offset(1), consumer: "t", initialValue: false, activeLow: false)
        let fault = try chip.requestOutput(.offset(2), consumer: "t", initialValue: false, activeLow: false)
        let indicator = StatusIndicator()
        await indicator.setFault("camera:downstream", true)
        let task = Task { try await StatusLEDService(indicator: indicator, statusLine: status, faultLine: fault).run() }
        try await waitUntil { chip.history(of: .offset(1)).count >= 4 }
        #expect(chip.value(of: .offset(2)) == true)
        task.cancel()
        _ = try? await task.value
        let values = chip.history(of: .offset(1)).map(\.value)
        // Double blink: on, off, on, ...
        #expect(Array(values.prefix(4)) == [false, true, false, true])
        #expect(chip.value(of: .offset(1)) == false && chip.value(of: .offset(2)) == false)
    }
}

/// An input line with no edges that counts its waits; it blocks for the timeout as poll(2) does.
final class CountingLine: GPIOLine, @unchecked Sendable {
    private let lock = NSLock()
    private var waitCount = 0
    private var isReleased = false
    let label = "counting:0"

    var waits: Int { lock.withLock { waitCount } }
    var released: Bool { lock.withLock { isReleased } }

    func setValue(_ on: Bool) throws(GPIOError) {}

    func waitForEvent(timeout: Duration) throws(GPIOError) -> GPIOEvent? {
        lock.withLock { waitCount += 1 }
        Thread.sleep(forTimeInterval: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        return nil
    }

    func release() { lock.withLock { isReleased = true } }
}

func waitUntil(timeout: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

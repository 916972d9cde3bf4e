import Foundation
import Glibc
import Testing
import GPIO
import Simulation

@Suite("GPIO chips")
struct GPIOTests {
    @Test func inMemoryChipRecordsEveryValueWithTime() throws {
        let clock = TestClock()
        let chip = InMemoryGPIOChip(lineCount: 8, lineNames: ["", "", "LED_STATUS"], now: { clock.now })
        let led = try chip.requestOutput(.name("LED_STATUS"), consumer: "test", initialValue: false, activeLow: false)
        clock.advance(.milliseconds(10))
        try led.setValue(true)
        clock.advance(.milliseconds(20))
        try led.setValue(false)
        let history = chip.history(of: .offset(2))
        #expect(history.map(\.value) == [false, true, false])
        #expect(history.map(\.at) == [.zero, .milliseconds(10), .milliseconds(30)])
        #expect(chip.value(of: .name("LED_STATUS")) == false)
    }

    @Test func linesAreExclusiveUntilReleased() throws {
        let chip = InMemoryGPIOChip(lineCount: 4)
        let line = try chip.requestOutput(.offset(1), consumer: "a", initialValue: false, activeLow: false)
        let error = #expect(throws: GPIOError.self) { try chip.requestOutput(.offset(1), consumer: "b", initialValue: false, activeLow: false) }
        #expect(error?.kind == .busy)
        line.release()
        #expect((#expect(throws: GPIOError.self) { try line.setValue(true) })?.kind == .released)
        _ = try chip.requestOutput(.offset(1), consumer: "b", initialValue: true, activeLow: false)
        #expect((#expect(throws: GPIOError.self) { try chip.requestOutput(.offset(9), consumer: "c", initialValue: false, activeLow: false) })?.kind == .lineMissing)
        #expect((#expect(throws: GPIOError.self) { try chip.requestOutput(.name("NOPE"), consumer: "c", initialValue: false, activeLow: false) })?.kind == .lineMissing)
    }

    @Test func injectedEdgesArriveInOrder() throws {
        let chip = InMemoryGPIOChip(lineCount: 4)
        let button = try chip.requestEdgeEvents(.offset(3), consumer: "t", edge: .falling, activeLow: true, pullUp: true)
        #expect(try button.waitForEvent(timeout: .zero) == nil)
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(5))
        chip.injectEdge(.rising, on: .offset(3), at: .milliseconds(9))
        #expect(try button.waitForEvent(timeout: .zero) == GPIOEvent(kind: .falling, timestamp: .milliseconds(5)))
        #expect(try button.waitForEvent(timeout: .zero) == GPIOEvent(kind: .rising, timestamp: .milliseconds(9)))
        #expect((#expect(throws: GPIOError.self) { try button.setValue(true) })?.kind == .invalidRequest)
    }

    /// A wait blocks as poll(2) does: it sleeps until an edge or its timeout instead of checking every
    /// millisecond (which cost the simulated board's button a thousand wakeups a second, issue 20), and an edge
    /// injected meanwhile ends it at once.
    @Test func waitingBlocksUntilAnEdgeOrTheTimeout() async throws {
        let chip = InMemoryGPIOChip(lineCount: 4)
        let button = try chip.requestEdgeEvents(.offset(3), consumer: "t", edge: .falling, activeLow: true, pullUp: true)
        // Voluntary context switches of the waiting thread itself (getrusage RUSAGE_THREAD), across one 300 ms wait.
        let (switches, event, waited) = await withCheckedContinuation { (done: CheckedContinuation<(Int, GPIOEvent?, Duration), Never>) in
            let thread = Thread {
                var before = rusage(), after = rusage()
                getrusage(1, &before)  // RUSAGE_THREAD (a _GNU_SOURCE macro Swift does not import)
                let start = ContinuousClock.now
                let event = try? button.waitForEvent(timeout: .milliseconds(300))
                let waited = ContinuousClock.now - start
                getrusage(1, &after)
                done.resume(returning: (after.ru_nvcsw - before.ru_nvcsw, event, waited))
            }
            thread.start()
        }
        #expect(event == nil)
        #expect(waited >= .milliseconds(300))
        #expect(switches < 20, "\(switches) wakeups in one 300 ms wait")

        let start = ContinuousClock.now
        let waiter = Task.detached { try button.waitForEvent(timeout: .seconds(20)) }
        try await Task.sleep(for: .milliseconds(50))
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(7))
        #expect(try await waiter.value == GPIOEvent(kind: .falling, timestamp: .milliseconds(7)))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func failingLineReportsIO() throws {
        let chip = InMemoryGPIOChip(lineCount: 4)
        let led = try chip.requestOutput(.offset(0), consumer: "t", initialValue: false, activeLow: false)
        chip.setFailing(.offset(0), true)
        #expect((#expect(throws: GPIOError.self) { try led.setValue(true) })?.kind == .io)
    }

    @Test func libgpiodNamesAMissingChip() {
        // This machine has no gpio-sim; a missing chip must be a named error, not a crash.
        let error = #expect(throws: GPIOError.self) { try LibgpiodChip("/dev/remotair-no-such-gpiochip") }
        #expect(error?.kind == .chipMissing)
    }
}

final class TestClock: Sendable {
    private let value = Mutex<Duration>(.zero)
    var now: Duration { value.withLock { $0 } }
    func advance(_ duration: Duration) { value.withLock { $0 += duration } }
}

import Synchronization

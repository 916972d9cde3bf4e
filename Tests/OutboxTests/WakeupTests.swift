import Outbox
import Testing

/// The upload worker's wake-up: a signal ends a wait at once (before or during it), a wait without one ends at its
/// deadline, and cancellation ends it too; nothing is lost between a signal and the next wait.
@Suite struct WakeupTests {
    @Test func signalBeforeTheWaitIsKept() async {
        let wakeup = Wakeup()
        wakeup.signal()
        let start = ContinuousClock.now
        #expect(await wakeup.wait(upTo: .seconds(30)))
        #expect(ContinuousClock.now - start < .seconds(5))
        // The flag was consumed: the next wait times out.
        #expect(await wakeup.wait(upTo: .milliseconds(10)) == false)
    }

    @Test func signalWakesAParkedWaiter() async throws {
        let wakeup = Wakeup()
        let start = ContinuousClock.now
        let waiter = Task { await wakeup.wait(upTo: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        wakeup.signal()
        #expect(await waiter.value)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func waitEndsAtItsDeadline() async {
        let wakeup = Wakeup()
        let start = ContinuousClock.now
        #expect(await wakeup.wait(upTo: .milliseconds(100)) == false)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(100) && waited < .seconds(10), "\(waited)")
        #expect(await wakeup.wait(upTo: .zero) == false)
    }

    @Test func cancellationEndsTheWait() async throws {
        let wakeup = Wakeup()
        let start = ContinuousClock.now
        let waiter = Task { await wakeup.wait(upTo: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        #expect(await waiter.value == false)
        #expect(ContinuousClock.now - start < .seconds(10))
        // A signal after that is kept for the next wait, not handed to the cancelled one.
        wakeup.signal()
        #expect(await wakeup.wait(upTo: .seconds(30)))
    }

    @Test func manySignalsAndWaitsLoseNothing() async {
        let wakeup = Wakeup()
        var woken = 0
        for _ in 0..<200 {
            // The signal lands before, while or after the waiter parks.
            async let waited = wakeup.wait(upTo: .seconds(30))
            wakeup.signal()
            if await waited { woken += 1 }
        }
        #expect(woken == 200)
    }
}

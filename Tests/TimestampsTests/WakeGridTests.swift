import Testing
import Timestamps

/// The shared wake-up grid: the delay to the next multiple of a period since boot.
@Suite struct WakeGridTests {
    @Test func theNextGridPointIsStrictlyAhead() {
        #expect(WakeGrid.delayToNext(.seconds(1), now: .milliseconds(5_300)) == .milliseconds(700))
        #expect(WakeGrid.delayToNext(.seconds(1), now: .seconds(5)) == .seconds(1))
        #expect(WakeGrid.delayToNext(.seconds(5), now: .milliseconds(5_001)) == .milliseconds(4_999))
        #expect(WakeGrid.delayToNext(.milliseconds(250), now: .milliseconds(1_100)) == .milliseconds(150))
        #expect(WakeGrid.delayToNext(.zero, now: .seconds(3)) == .zero)
    }

    @Test func loopsWithRelatedPeriodsMeet() {
        // A 1 s and a 2 s loop that woke at different times next meet at the same instant.
        let now = WakeGrid.sinceBoot()
        let one = now + WakeGrid.delayToNext(.seconds(1), now: now)
        let two = now + WakeGrid.delayToNext(.seconds(2), now: now)
        #expect(two == one || two == one + WakeGrid.delayToNext(.seconds(1), now: one))
        #expect(WakeGrid.delayToNext(.seconds(1), now: now) <= .seconds(1))
    }
}

import Foundation
import Monitoring
import Testing

let day0 = Date(timeIntervalSince1970: 1_790_035_200)  // a UTC midnight

@Suite("Capture, snapshot and sample policies")
struct PolicyTests {
    @Test("the next capture is the interval plus the injected share of the jitter")
    func schedule() {
        let schedule = CaptureSchedule(interval: 900, jitter: 30)
        #expect(schedule.next(after: day0, unit: 0) == day0.addingTimeInterval(900))
        #expect(schedule.next(after: day0, unit: 0.5) == day0.addingTimeInterval(915))
        #expect(schedule.next(after: day0, unit: 7) == day0.addingTimeInterval(930), "out-of-range randomness is clamped")
    }

    @Test("one periodic snapshot per camera per interval")
    func periodicSnapshots() {
        var schedule = SnapshotSchedule(interval: 86400)
        let r1 = schedule.due("upstream", at: day0)
        #expect(r1)
        let r2 = schedule.due("downstream", at: day0)
        #expect(r2)
        let r3 = schedule.due("upstream", at: day0.addingTimeInterval(3600))
        #expect(!r3)
        let r4 = schedule.due("upstream", at: day0.addingTimeInterval(86400))
        #expect(r4)
    }

    @Test("samples: unsure probabilities in the band, or disagreeing cameras, capped per day")
    func samples() {
        var policy = SamplePolicy(threshold: 0.6, band: 0.1, dailyCap: 3)
        let r5 = policy.select(["upstream": 0.95, "downstream": 0.9], at: day0)
        #expect(r5 == [])
        let r6 = policy.select(["upstream": 0.65, "downstream": 0.9], at: day0)
        #expect(r6 == ["upstream"])
        let r7 = policy.select(["upstream": 0.9, "downstream": 0.1], at: day0)
        #expect(r7 == ["downstream", "upstream"], "cameras disagree")
        let r8 = policy.select(["upstream": 0.55, "downstream": 0.58], at: day0)
        #expect(r8 == [], "the cap of 3 per day is reached")
        let r9 = policy.select(["upstream": 0.55], at: day0.addingTimeInterval(86400))
        #expect(r9 == ["upstream"], "a new day")
    }
}

import Foundation
import Risk
import Testing

let t0 = Date(timeIntervalSince1970: 1_790_000_000)
func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }

@Suite("Per-camera smoothing and hysteresis")
struct CameraRiskTests {
    let settings = CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 2, window: 3, minimumDwell: 0)

    @Test("one high score is not enough; two of the last three raise")
    func kOfN() {
        var machine = CameraRiskMachine(settings: settings)
        #expect(machine.observe(.scored(0.9), at: at(0)) == nil)
        #expect(machine.observe(.scored(0.1), at: at(15)) == nil)
        #expect(machine.observe(.scored(0.1), at: at(30)) == nil)
        #expect(machine.observe(.scored(0.7), at: at(45)) == nil)  // window 0.1 0.1 0.7
        #expect(machine.observe(.scored(0.65), at: at(60)) == .dirty)  // window 0.1 0.7 0.65
        #expect(machine.state == .dirty)
    }

    @Test("between the thresholds nothing changes in either direction")
    func hysteresis() {
        var machine = CameraRiskMachine(settings: settings)
        _ = machine.observe(.scored(0.9), at: at(0))
        #expect(machine.observe(.scored(0.9), at: at(1)) == .dirty)
        for minute in 2..<10 {
            #expect(machine.observe(.scored(0.5), at: at(Double(minute))) == nil, "0.5 sits between clear 0.4 and raise 0.6")
        }
        #expect(machine.observe(.scored(0.39), at: at(10)) == nil)
        #expect(machine.observe(.scored(0.40), at: at(11)) == .clean, "at the clear threshold counts as clean")
    }

    @Test("a minimum dwell holds the state even when the votes say otherwise")
    func dwell() {
        var machine = CameraRiskMachine(settings: CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 1, window: 1, minimumDwell: 3600))
        #expect(machine.observe(.scored(0.9), at: at(0)) == .dirty)
        #expect(machine.observe(.scored(0.1), at: at(30)) == nil)
        #expect(machine.observe(.scored(0.1), at: at(59)) == nil)
        #expect(machine.observe(.scored(0.1), at: at(60)) == .clean)
    }

    @Test("unusable frames neither raise nor clear, and do not break the vote")
    func unusableFrames() {
        var machine = CameraRiskMachine(settings: settings)
        _ = machine.observe(.scored(0.9), at: at(0))
        #expect(machine.observe(.unusable(reason: "too_dark"), at: at(1)) == nil)
        #expect(machine.observe(.failed(reason: "timeout"), at: at(2)) == nil)
        #expect(machine.unusableStreak == 2)
        #expect(machine.observe(.scored(0.8), at: at(3)) == .dirty)
        #expect(machine.unusableStreak == 0)
    }
}

@Suite("Fusion of both cameras")
struct FusionTests {
    func machine(_ probabilities: [Double]) -> CameraRiskMachine {
        var machine = CameraRiskMachine(settings: CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 1, window: 1))
        for (index, p) in probabilities.enumerated() { _ = machine.observe(.scored(p), at: at(Double(index))) }
        return machine
    }

    @Test("any: one dirty camera makes the duct dirty")
    func any() {
        #expect(FusionPolicy.any.fuse([machine([0.9]), machine([0.1])]) == .dirty)
        #expect(FusionPolicy.any.fuse([machine([0.1]), machine([0.1])]) == .clean)
    }

    @Test("all: every camera must be dirty")
    func all() {
        #expect(FusionPolicy.all.fuse([machine([0.9]), machine([0.1])]) == .clean)
        #expect(FusionPolicy.all.fuse([machine([0.9]), machine([0.7])]) == .dirty)
    }

    @Test("mean: the mean of the latest probabilities against the raise threshold")
    func mean() {
        // States flip on each observation here (window 1), so the latest probabilities are what counts.
        var a = CameraRiskMachine(settings: CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 3, window: 3))
        var b = a
        _ = a.observe(.scored(0.9), at: at(0))
        _ = b.observe(.scored(0.35), at: at(0))
        #expect(FusionPolicy.mean.fuse([a, b]) == .dirty)  // (0.9 + 0.35) / 2 = 0.625
        _ = b.observe(.scored(0.2), at: at(1))
        #expect(FusionPolicy.mean.fuse([a, b]) == .clean)  // 0.55
    }

    @Test("no cameras means clean")
    func empty() {
        #expect(FusionPolicy.any.fuse([]) == .clean)
    }
}

import Foundation
import MQTTSink
import Outbox
import Testing

@Suite("MQTT sink policy")
struct MQTTSinkPolicyTests {
    let start = Date(timeIntervalSince1970: 1_795_780_800)

    @Test("connects at once, publishes one event at a time while connected, idles without pending events")
    func happyPath() {
        var policy = MQTTSinkPolicy()
        #expect(policy.next(now: start, hasPending: true) == .connect)
        #expect(policy.next(now: start, hasPending: true) == .wait(until: nil), "no second attempt while connecting")
        policy.connected(now: start)
        #expect(policy.next(now: start, hasPending: true) == .publishNext)
        policy.published(now: start + 1)
        #expect(policy.lastPublishAt == start + 1)
        #expect(policy.next(now: start + 1, hasPending: false) == .wait(until: nil))
    }

    @Test("network failures reconnect after full-jitter exponential waits, bounded by the cap, and never give up")
    func backoff() {
        var policy = MQTTSinkPolicy(backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var now = start
        var ceilings: [Duration] = []
        for _ in 0..<6 {
            #expect(policy.next(now: now, hasPending: true) == .connect)
            // unit 1 shows the ceiling, the largest wait full jitter may pick.
            guard case .retry(let wait) = policy.failed("connection refused", authentication: false, now: now, unit: 1) else {
                Issue.record("expected a retry"); return
            }
            ceilings.append(wait)
            #expect(policy.next(now: now, hasPending: true) == .wait(until: now + seconds(wait)))
            now += seconds(wait)
        }
        #expect(ceilings == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        #expect(policy.lastError == "connection refused")
        // Jitter: unit 0 means try again at once.
        _ = policy.next(now: now, hasPending: true)
        #expect(policy.failed("lost", authentication: false, now: now, unit: 0) == .retry(after: .zero))
        // A success starts the backoff over.
        #expect(policy.next(now: now, hasPending: true) == .connect)
        policy.connected(now: now)
        #expect(policy.failed("lost", authentication: false, now: now, unit: 1) == .retry(after: .seconds(1)))
    }

    @Test("a TLS or authentication failure pauses once (one log line), probes only every pause_probe_interval, and a success resumes")
    func pause() {
        var policy = MQTTSinkPolicy(pauseProbeInterval: .seconds(900))
        #expect(policy.next(now: start, hasPending: true) == .connect)
        #expect(policy.failed("certificate verify failed", authentication: true, now: start, unit: 0.5) == .paused(reason: "certificate verify failed"))
        #expect(policy.phase == .paused)
        #expect(policy.pausedReason == "certificate verify failed")
        #expect(policy.next(now: start + 60, hasPending: true) == .wait(until: start + 900))
        #expect(policy.next(now: start + 900, hasPending: true) == .connect)
        // The probe fails the same way, or on the network: no second log line, still paused.
        #expect(policy.failed("certificate verify failed", authentication: true, now: start + 900, unit: 0.5) == .stillPaused)
        #expect(policy.next(now: start + 1800, hasPending: true) == .connect)
        #expect(policy.failed("connection refused", authentication: false, now: start + 1800, unit: 0.5) == .stillPaused)
        #expect(policy.phase == .paused)
        #expect(policy.next(now: start + 2700, hasPending: true) == .connect)
        policy.connected(now: start + 2700)
        #expect(policy.pausedReason == nil)
        #expect(policy.next(now: start + 2700, hasPending: true) == .publishNext)
    }

    @Test("an ACL denial on publish pauses too (the same event would be denied forever)")
    func aclDenial() {
        var policy = MQTTSinkPolicy()
        _ = policy.next(now: start, hasPending: true)
        policy.connected(now: start)
        #expect(policy.next(now: start, hasPending: true) == .publishNext)
        #expect(policy.failed("PUBACK: Not authorized (reason code 135)", authentication: true, now: start, unit: 0) == .paused(reason: "PUBACK: Not authorized (reason code 135)"))
        #expect(policy.next(now: start, hasPending: true) == .wait(until: start + 900))
    }
}

private func seconds(_ duration: Duration) -> TimeInterval {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

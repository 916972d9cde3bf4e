import Foundation
import Outbox

/// When the MQTT sink connects, publishes and waits (issue 19): pure, with time and randomness passed in,
/// so every rule is tested without a broker. The service that owns the client asks `next(now:hasPending:)`
/// what to do and reports what happened.
///
/// - Network failures (refused TCP connection, lost connection, keepalive timeout) reconnect with
///   full-jitter exponential backoff, never giving up.
/// - TLS and authentication failures (unknown CA, untrusted or expired certificate, refused login, ACL
///   denial) cannot heal by retrying: the sink pauses with one log line and only probes again every
///   `pauseProbeInterval` (a reload with a fixed `mqtt:` section starts a fresh policy).
/// - Alarm events go out one at a time, in order; the next only after the previous one's PUBACK.
public struct MQTTSinkPolicy: Sendable, Equatable {
    public enum Phase: String, Sendable, Equatable {
        /// Not connected; `nextAttemptAt` says when to try.
        case disconnected
        case connecting
        case connected
        /// A TLS or authentication failure; probing every `pauseProbeInterval`.
        case paused
    }

    public enum Action: Sendable, Equatable {
        /// Start a connection attempt (then report `connected()` or `failed(...)`).
        case connect
        /// Publish the oldest pending alarm event (then report `published` or `failed`).
        case publishNext
        /// Nothing to do before this time (or before new work arrives, when nil).
        case wait(until: Date?)
    }

    public private(set) var phase: Phase = .disconnected
    public private(set) var backoff: Backoff
    public let pauseProbeInterval: Duration
    public private(set) var nextAttemptAt: Date?
    /// The last failure, for `remotairctl status`.
    public private(set) var lastError: String?
    public private(set) var lastErrorAt: Date?
    /// When the broker last acknowledged an alarm event.
    public private(set) var lastPublishAt: Date?
    /// Why the sink is paused, while it is.
    public private(set) var pausedReason: String?

    public init(backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(5 * 60)), pauseProbeInterval: Duration = .seconds(15 * 60)) {
        self.backoff = backoff
        self.pauseProbeInterval = pauseProbeInterval
    }

    /// What to do now.
    public mutating func next(now: Date, hasPending: Bool) -> Action {
        switch phase {
        case .connecting:
            return .wait(until: nil)
        case .connected:
            return hasPending ? .publishNext : .wait(until: nil)
        case .disconnected, .paused:
            if let at = nextAttemptAt, at > now { return .wait(until: at) }
            phase = phase == .paused ? .paused : .connecting
            if phase == .paused { nextAttemptAt = now + pauseProbeInterval.timeInterval }
            return .connect
        }
    }

    /// A connection attempt started by `.connect` succeeded: the backoff starts over, a pause ends.
    public mutating func connected(now: Date) {
        phase = .connected
        backoff.reset()
        nextAttemptAt = nil
        pausedReason = nil
    }

    /// The broker acknowledged an alarm event.
    public mutating func published(now: Date) {
        lastPublishAt = now
    }

    /// What a failure changed, so the service can log a pause once (and nothing else repeatedly).
    public enum Outcome: Sendable, Equatable {
        /// Will reconnect after the given wait.
        case retry(after: Duration)
        /// Just paused: log this reason once.
        case paused(reason: String)
        /// Still paused (a probe failed the same way): nothing new to log.
        case stillPaused
    }

    /// A connect, publish or the connection itself failed. `unit` is a random value in 0..<1 (the jitter).
    public mutating func failed(_ error: String, authentication: Bool, now: Date, unit: Double) -> Outcome {
        lastError = error
        lastErrorAt = now
        if authentication {
            let wasPaused = phase == .paused || pausedReason != nil
            phase = .paused
            pausedReason = error
            nextAttemptAt = now + pauseProbeInterval.timeInterval
            return wasPaused ? .stillPaused : .paused(reason: error)
        }
        if pausedReason != nil {
            // A probe failed on the network instead: stay paused, probe again later.
            phase = .paused
            nextAttemptAt = now + pauseProbeInterval.timeInterval
            return .stillPaused
        }
        phase = .disconnected
        let wait = backoff.fail(unit: unit)
        nextAttemptAt = now + wait.timeInterval
        return .retry(after: wait)
    }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

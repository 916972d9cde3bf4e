import Foundation

/// Full-jitter exponential backoff: the n-th consecutive failure waits a uniform random time in
/// `0 ... min(cap, base * 2^n)`. Attempts are never capped (a board may be offline for days); only the wait is.
/// Pure: the random source is injected, and the caller owns the clock.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    /// Consecutive failures so far.
    public private(set) var failures: Int = 0

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(15 * 60), failures: Int = 0) {
        self.base = base
        self.cap = cap
        self.failures = max(0, failures)
    }

    /// The upper bound of the next wait, before jitter.
    public var ceiling: Duration {
        // 2^failures overflows quickly; once base * 2^n passes the cap the cap rules anyway.
        let exponent = min(failures, 40)
        let scaled = base.asSeconds * pow(2, Double(exponent))
        return scaled >= cap.asSeconds ? cap : .milliseconds(Int64((scaled * 1000).rounded()))
    }

    /// Records a failure and returns how long to wait before the next attempt. `unit` is a random value in 0..<1.
    public mutating func fail(unit: Double) -> Duration {
        let bound = ceiling
        failures += 1
        let fraction = min(max(unit, 0), 1)
        return .milliseconds(Int64((bound.asSeconds * fraction * 1000).rounded()))
    }

    /// Records a failure with the system random generator.
    public mutating func fail() -> Duration {
        fail(unit: Double.random(in: 0..<1))
    }

    /// A success (or a manual flush) starts over from `base`.
    public mutating func reset() { failures = 0 }
}

extension Duration {
    /// The duration in seconds as a Double (internal, so it cannot clash with other modules' extensions).
    var asSeconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}

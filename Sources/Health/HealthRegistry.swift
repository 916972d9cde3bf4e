import Synchronization

/// Liveness and state of the daemon's working loops, shared by every service.
///
/// Each long-running loop registers with a period and calls `beat` at least that often (a loop that
/// waits a long time wakes up to beat). The systemd watchdog is fed only while no loop is overdue, so a
/// hung capture or upload loop gets the daemon restarted. Components also publish a state word and
/// counters here for `remotairctl status`.
public final class HealthRegistry: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// A component's published state, e.g. camera `upstream` is `offline` with its counters.
    public struct ComponentState: Sendable, Equatable {
        public var state: String
        public var detail: [String: String]
        public var since: Instant

        public init(state: String, detail: [String: String], since: Instant) {
            self.state = state
            self.detail = detail
            self.since = since
        }
    }

    private struct Loop {
        var period: Duration
        var lastBeat: Instant
    }

    private struct State {
        var loops: [String: Loop] = [:]
        var components: [String: ComponentState] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers a loop that promises to beat at least every `period`. Re-registering resets it.
    public func register(loop name: String, period: Duration, at now: Instant = .now) {
        state.withLock { $0.loops[name] = Loop(period: period, lastBeat: now) }
    }

    /// Removes a loop that ended on purpose (shutdown), so it does not count as stalled.
    public func unregister(loop name: String) {
        state.withLock { _ = $0.loops.removeValue(forKey: name) }
    }

    /// Records progress of a loop. Unknown names are ignored (the loop was unregistered).
    public func beat(_ name: String, at now: Instant = .now) {
        state.withLock { table in
            if table.loops[name] != nil { table.loops[name]?.lastBeat = now }
        }
    }

    /// Loops whose last beat is older than their period, sorted by name.
    public func stalledLoops(at now: Instant = .now) -> [String] {
        state.withLock { table in
            table.loops.filter { now - $0.value.lastBeat > $0.value.period }.map(\.key).sorted()
        }
    }

    /// Names of the registered loops.
    public var loopNames: [String] {
        state.withLock { $0.loops.keys.sorted() }
    }

    /// Publishes a component's state; `since` changes only when the state word changes.
    public func publish(_ component: String, state word: String, detail: [String: String] = [:], at now: Instant = .now) {
        state.withLock { table in
            let since = table.components[component].flatMap { $0.state == word ? $0.since : nil } ?? now
            table.components[component] = ComponentState(state: word, detail: detail, since: since)
        }
    }

    /// Every component's latest state.
    public func components() -> [String: ComponentState] {
        state.withLock { $0.components }
    }
}

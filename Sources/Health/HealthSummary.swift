/// Names of published components: `<family>.<member>`, one scheme for every publisher, as
/// `remotairctl status` lists them (`camera.upstream`, `sensor.sps30`).
public enum ComponentName {
    public static func camera(_ name: String) -> String { "camera.\(name)" }
    public static func sensor(_ id: String) -> String { "sensor.\(id)" }
}

/// The daemon's overall health word.
public enum HealthState: String, Sendable, CaseIterable {
    /// Every component reports `ok` and no loop is overdue.
    case ok
    /// A component reports anything else (a camera offline, a sensor warming up): the daemon still works.
    case degraded
    /// A loop is overdue: the watchdog is no longer fed and systemd will restart the daemon.
    case failing
}

/// One reading of the registry, shared by `remotairctl status` and the systemd status line so the two
/// never judge the same state differently.
public struct HealthSummary: Sendable, Equatable {
    public struct Component: Sendable, Equatable {
        public var name: String
        /// The published word, or `stalled` when a loop of the same name is overdue.
        public var state: String
        public var since: HealthRegistry.Instant
        public var detail: [String: String]
    }

    /// Components sorted by name.
    public var components: [Component]
    /// Overdue loops, sorted by name.
    public var stalledLoops: [String]

    public var state: HealthState {
        if !stalledLoops.isEmpty { return .failing }
        return components.contains { $0.state != HealthState.ok.rawValue } ? .degraded : .ok
    }

    /// systemd's STATUS= line: the overdue loops, or every component's published word.
    public var statusLine: String {
        if !stalledLoops.isEmpty { return "stalled: \(stalledLoops.joined(separator: ", "))" }
        let words = components.map { "\($0.name) \($0.state)" }
        return words.isEmpty ? "running" : words.joined(separator: ", ")
    }
}

extension HealthRegistry {
    /// The registry's components and overdue loops at `now`, read once.
    public func summary(at now: Instant = .now) -> HealthSummary {
        let stalled = stalledLoops(at: now)
        let names = Set(stalled)
        let components = self.components().sorted { $0.key < $1.key }.map { name, component in
            HealthSummary.Component(name: name, state: names.contains(name) ? "stalled" : component.state,
                                    since: component.since, detail: component.detail)
        }
        return HealthSummary(components: components, stalledLoops: stalled)
    }
}

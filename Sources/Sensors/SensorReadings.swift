import Foundation
import Synchronization

/// The latest value and a rolling window per metric and sensor, shared by the sensor service (writer) and
/// the risk engine and control socket (readers). Thread-safe; every call copies out.
public final class SensorReadings: Sendable {
    private struct Key: Hashable { var sensorID: String; var metric: Metric }
    private struct State {
        var windows: [Key: [Reading]] = [:]
        var statuses: [String: SensorStatus] = [:]
        var order: [String] = []
    }

    /// How much history each window keeps.
    public let retention: TimeInterval
    private let state = Mutex(State())

    public init(retention: Duration = .seconds(3600)) {
        self.retention = retention.seconds
    }

    /// Publishes readings; each window drops values older than `retention` before the newest.
    public func publish(_ readings: [Reading]) {
        guard !readings.isEmpty else { return }
        state.withLock { state in
            for reading in readings {
                let key = Key(sensorID: reading.sensorID, metric: reading.metric)
                var window = state.windows[key] ?? []
                window.append(reading)
                // Prune in batches (once a tenth of the retention has expired) so publishing stays O(1) amortised.
                let cutoff = reading.timestamp.addingTimeInterval(-retention)
                if let oldest = window.first, oldest.timestamp < cutoff.addingTimeInterval(-retention / 10),
                   let keep = window.firstIndex(where: { $0.timestamp >= cutoff }) {
                    window.removeFirst(keep)
                }
                state.windows[key] = window
            }
        }
    }

    /// The newest reading of every metric of every sensor, in sensor configuration order then metric order.
    public func latest() -> [Reading] {
        state.withLock { state in
            let order = Dictionary(uniqueKeysWithValues: state.order.enumerated().map { ($1, $0) })
            return state.windows.compactMap { $0.value.last }.sorted {
                let a = order[$0.sensorID] ?? Int.max, b = order[$1.sensorID] ?? Int.max
                if a != b { return a < b }
                if $0.sensorID != $1.sensorID { return $0.sensorID < $1.sensorID }
                return (Metric.allCases.firstIndex(of: $0.metric) ?? 0) < (Metric.allCases.firstIndex(of: $1.metric) ?? 0)
            }
        }
    }

    /// The newest reading of `metric` from any sensor.
    public func latest(metric: Metric) -> Reading? {
        state.withLock { state in
            state.windows.filter { $0.key.metric == metric }.compactMap { $0.value.last }.max { $0.timestamp < $1.timestamp }
        }
    }

    /// Readings of `metric` (all sensors) no older than `duration` before the newest one, oldest first
    /// (at most `retention` back).
    public func window(metric: Metric, duration: Duration) -> [Reading] {
        state.withLock { state in
            let all = state.windows.filter { $0.key.metric == metric }.flatMap(\.value)
            guard let newest = all.map(\.timestamp).max() else { return [] }
            let cutoff = newest.addingTimeInterval(-duration.seconds)
            return all.filter { $0.timestamp >= cutoff }.sorted { $0.timestamp < $1.timestamp }
        }
    }

    /// Every configured sensor's state and counters, in configuration order.
    public func statuses() -> [SensorStatus] {
        state.withLock { state in state.order.compactMap { state.statuses[$0] } }
    }

    /// One sensor's state and counters.
    public func status(of id: String) -> SensorStatus? {
        state.withLock { $0.statuses[id] }
    }

    /// Records a sensor's status (the service calls this after every attempt).
    public func update(_ status: SensorStatus) {
        state.withLock { state in
            if state.statuses[status.id] == nil { state.order.append(status.id) }
            state.statuses[status.id] = status
        }
    }
}

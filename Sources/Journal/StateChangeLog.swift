import Logging
import Synchronization

/// Logs a repeating condition once per change of state instead of once per attempt,
/// so a camera that is offline for a day writes two lines, not 10,000.
///
/// Each `key` (a device, a sensor) has a last-reported state; `report` logs only when the new state differs,
/// and says how many times the old state repeated.
public final class StateChangeLog: Sendable {
    private struct Entry { var state: String; var repeats: Int }
    private let entries = Mutex<[String: Entry]>([:])
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Reports `state` for `key`; returns true when it was logged.
    @discardableResult
    public func report(
        _ key: String, state: String, level: Logger.Level, _ message: @autoclosure () -> String,
        metadata: Logger.Metadata = [:]
    ) -> Bool {
        let (changed, previousCount) = entries.withLock { table -> (Bool, Int) in
            if let old = table[key], old.state == state {
                table[key]?.repeats += 1
                return (false, 0)
            }
            let count = table[key]?.repeats ?? 0
            table[key] = Entry(state: state, repeats: 1)
            return (true, count)
        }
        guard changed else { return false }
        var fields = metadata
        fields["state"] = .string(state)
        // How often the previous state was seen, so "offline" followed by "ok" tells how many attempts failed.
        if previousCount > 1 { fields["previous_repeats"] = .stringConvertible(previousCount) }
        logger.log(level: level, "\(message())", metadata: fields)
        return true
    }

    /// Forgets a key (a device removed from configuration).
    public func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}

import Logging
import Synchronization

/// The process-wide minimum log level, shared by every handler `JournalLogHandler.bootstrap` made, so a
/// reload can change `log_level` without a restart: swift-log asks the handler for its level at each call.
public final class LogThreshold: Sendable {
    private let raw: Atomic<UInt8>

    public init(_ level: Logger.Level) {
        raw = Atomic(Self.index(of: level))
    }

    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> UInt8 {
        // allCases is trace...critical, seven cases: the index always fits.
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 2)
    }
}

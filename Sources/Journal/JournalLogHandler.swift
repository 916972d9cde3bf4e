#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import Foundation
import Logging
import Timestamps

/// swift-log handler for technicians reading `journalctl -u remotaird -f`:
/// one entry per event, `subsystem: message key=value ...`.
///
/// When stderr is connected to the journal (`JOURNAL_STREAM` names stderr's device and inode), each event
/// goes to journald through libsystemd's `sd_journal_sendv` with its priority and its metadata as fields
/// (`REMOTAIR_CAMERA=upstream`, see `JournalFields`), so technicians can filter on a camera, a sensor or an
/// alarm. Otherwise (a daemon run by hand) lines carry an ISO 8601 timestamp and the level in words.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// A level set on this handler (a `Logger`'s own `logLevel =`) wins over the shared threshold.
    public var logLevel: Logger.Level {
        get { ownLevel ?? threshold.level }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    private let threshold: LogThreshold
    public let label: String
    private let style: Style
    private let sink: @Sendable (String) -> Void
    private let send: @Sendable ([String]) -> Bool
    private let identifier: String

    public enum Style: Sendable {
        /// Native journal entries: MESSAGE `subsystem: message key=value`, PRIORITY and one field per metadata key.
        case native
        /// `<6>subsystem: message key=value` (stderr read by journald: the priority prefix sets the level;
        /// what `.native` writes when journald's socket refuses an entry)
        case journal
        /// `2026-11-27T10:00:00.123Z info subsystem: message key=value`
        case plain
    }

    /// - Parameters:
    ///   - threshold: the level this handler follows until its own `logLevel` is set (see `LogThreshold`).
    ///   - sink: where lines go (`.journal`, `.plain`, and `.native` when `send` fails).
    ///   - send: writes one native entry (`NAME=value` fields); false when journald did not take it.
    ///   - identifier: `SYSLOG_IDENTIFIER` of native entries (what journald would derive from the process name).
    public init(label: String, threshold: LogThreshold, style: Style,
                sink: @escaping @Sendable (String) -> Void = JournalLogHandler.writeToStandardError,
                send: @escaping @Sendable ([String]) -> Bool = JournalLogHandler.sendToJournal,
                identifier: String = ProcessInfo.processInfo.processName) {
        self.label = label
        self.threshold = threshold
        self.style = style
        self.sink = sink
        self.send = send
        self.identifier = identifier
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let message = "\(event.message)"
        if style == .native {
            let fields = JournalFields.entry(
                level: event.level, message: Self.format(level: event.level, subsystem: label, message: message, metadata: merged, style: .native, date: Date()),
                metadata: merged, identifier: identifier, file: event.file, line: event.line, function: event.function)
            if send(fields) { return }
            // journald's socket refused the entry (journald restarting, or its socket missing): the line still
            // reaches the journal through stderr, with its priority.
            sink(Self.format(level: event.level, subsystem: label, message: message, metadata: merged, style: .journal, date: Date()))
            return
        }
        sink(Self.format(level: event.level, subsystem: label, message: message, metadata: merged, style: style, date: Date()))
    }

    /// Formats one line (without the trailing newline). Metadata keys are sorted so lines are stable to grep.
    public static func format(level: Logger.Level, subsystem: String, message: String, metadata: Logger.Metadata, style: Style, date: Date) -> String {
        var line: String
        switch style {
        case .native:
            // journald stores the priority as a field; newlines are kept flat so `journalctl` shows one line as before.
            line = "\(subsystem): \(flatten(message))"
        case .journal:
            line = "<\(priority(of: level))>\(subsystem): \(flatten(message))"
        case .plain:
            line = "\(timestamp(date)) \(level.rawValue) \(subsystem): \(flatten(message))"
        }
        for key in metadata.keys.sorted() {
            line += " \(key)=\(quote(render(metadata[key]!)))"
        }
        return line
    }

    /// syslog priority for journald: 2 critical, 3 error, 4 warning, 5 notice, 6 info, 7 debug and trace.
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .critical: return 2
        case .error: return 3
        case .warning: return 4
        case .notice: return 5
        case .info: return 6
        case .debug, .trace: return 7
        }
    }

    /// True when stderr is the journal: JOURNAL_STREAM is `device:inode` of the stream systemd connected.
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// One native journal entry through libsystemd; false when journald did not take it.
    @Sendable public static func sendToJournal(_ fields: [String]) -> Bool {
        // One buffer for all fields, so every iovec points into memory that lives through the call.
        var bytes: [UInt8] = []
        var ranges: [(offset: Int, count: Int)] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            ranges.append((bytes.count, field.utf8.count))
            bytes.append(contentsOf: field.utf8)
        }
        return bytes.withUnsafeMutableBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            let vectors = ranges.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) } >= 0
        }
    }

    @Sendable public static func writeToStandardError(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        // One write(2) per line keeps lines from concurrent tasks whole.
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// One metadata value as text: arrays joined by commas, dictionaries as sorted `key:value` pairs.
    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let value): return value.description
        case .array(let values): return values.map(render).joined(separator: ",")
        case .dictionary(let values): return values.keys.sorted().map { "\($0):\(render(values[$0]!))" }.joined(separator: ",")
        }
    }

    /// Values with spaces or quotes are quoted so `key=value` pairs stay parseable.
    private static func quote(_ text: String) -> String {
        let flat = flatten(text)
        if flat.isEmpty { return "\"\"" }
        if flat.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) {
            return "\"" + flat.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return flat
    }

    /// A newline would split one event into several journal entries.
    private static func flatten(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    private static func timestamp(_ date: Date) -> String {
        UTCTime(date).extended(fractionDigits: 3)
    }
}

extension JournalLogHandler {
    /// Native journal entries when stderr is the journal, plain lines otherwise (a daemon run by hand).
    public static func style(environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        stderrIsJournal(environment: environment) ? .native : .plain
    }

    /// A handler at a fixed level of its own.
    public init(label: String, level: Logger.Level, style: Style,
                sink: @escaping @Sendable (String) -> Void = JournalLogHandler.writeToStandardError,
                send: @escaping @Sendable ([String]) -> Bool = JournalLogHandler.sendToJournal,
                identifier: String = ProcessInfo.processInfo.processName) {
        self.init(label: label, threshold: LogThreshold(level), style: style, sink: sink, send: send, identifier: identifier)
    }

    /// The level every bootstrapped handler follows; a reload sets it from `log_level`.
    public static let threshold = LogThreshold(.info)

    /// Installs the handler for the whole process, choosing the style from the environment.
    public static func bootstrap(level: Logger.Level, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let style = style(environment: environment)
        threshold.level = level
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, threshold: threshold, style: style) }
    }
}

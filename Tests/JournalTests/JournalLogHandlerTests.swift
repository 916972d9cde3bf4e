import Foundation
import Journal
import Logging
import Synchronization
import Testing

/// Collects the lines a handler writes.
final class LineSink: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    func append(_ line: String) { storage.withLock { $0.append(line) } }
}

@Suite("Journal log lines")
struct JournalLogHandlerTests {
    @Test("journal style carries the syslog priority and sorted key=value pairs")
    func journalStyle() {
        let line = JournalLogHandler.format(
            level: .warning, subsystem: "camera", message: "offline",
            metadata: ["device": "/dev/video0", "errno": "ENODEV"], style: .journal, date: Date(timeIntervalSince1970: 0))
        #expect(line == "<4>camera: offline device=/dev/video0 errno=ENODEV")
    }

    @Test("plain style has an ISO timestamp and the level in words")
    func plainStyle() {
        let line = JournalLogHandler.format(
            level: .info, subsystem: "outbox", message: "recovered", metadata: ["items": "3"],
            style: .plain, date: Date(timeIntervalSince1970: 1_764_000_000.25))
        #expect(line == "2025-11-24T16:00:00.250Z info outbox: recovered items=3")
    }

    @Test("priorities follow syslog", arguments: [
        (Logger.Level.critical, 2), (.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7),
    ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(of: level) == priority)
    }

    @Test("values with spaces are quoted and newlines cannot split an entry")
    func quoting() {
        let line = JournalLogHandler.format(
            level: .error, subsystem: "uplink", message: "upload failed\nretrying",
            metadata: ["error": "Access \"denied\""], style: .journal, date: Date())
        #expect(line == "<3>uplink: upload failed\\nretrying error=\"Access \\\"denied\\\"\"")
    }

    @Test("JOURNAL_STREAM is honoured only when it names stderr")
    func journalStreamDetection() {
        #expect(JournalLogHandler.stderrIsJournal(environment: [:]) == false)
        #expect(JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "1:2"]) == false)
        var info = stat()
        fstat(STDERR_FILENO, &info)
        #expect(JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"]) == true)
    }

    @Test("the handler drops events below its level")
    func levelFilter() {
        let sink = LineSink()
        var logger = Logger(label: "sensors") { label in
            JournalLogHandler(label: label, level: .info, style: .journal, sink: sink.append)
        }
        logger.logLevel = .info
        logger.debug("noise")
        logger.info("reading", metadata: ["pm2_5": "12.3"])
        #expect(sink.lines == ["<6>sensors: reading pm2_5=12.3"])
    }
}

@Suite("Native journal fields")
struct JournalFieldsTests {
    @Test("metadata keys become REMOTAIR_ names that journald accepts", arguments: [
        ("camera", "REMOTAIR_CAMERA"), ("alarm_kind", "REMOTAIR_ALARM_KIND"), ("alarm_id", "REMOTAIR_ALARM_ID"),
        ("pm2.5", "REMOTAIR_PM2_5"), ("_private", "REMOTAIR__PRIVATE"), ("Camera-Name", "REMOTAIR_CAMERA_NAME"),
        ("température", "REMOTAIR_TEMP_RATURE"), ("9lives", "REMOTAIR_9LIVES"),
    ])
    func names(key: String, name: String) {
        #expect(JournalFields.name(forMetadataKey: key) == name)
    }

    @Test("every name is at most 64 characters of A-Z, 0-9 and _, not starting with _ or a digit; an empty key has none")
    func nameRules() throws {
        #expect(JournalFields.name(forMetadataKey: "") == nil)
        let long = try #require(JournalFields.name(forMetadataKey: String(repeating: "k", count: 200)))
        #expect(long.utf8.count == 64)
        #expect(long == "REMOTAIR_" + String(repeating: "K", count: 55))
        for key in ["a b", "ü", "x=y", "\n", "🙂", "__"] {
            let name = try #require(JournalFields.name(forMetadataKey: key))
            #expect(name.utf8.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == 95 }, "\(name)")
            #expect(!name.hasPrefix("_") && name.utf8.count <= 64)
        }
    }

    @Test("an entry carries MESSAGE, PRIORITY, the identifier, the code location and the metadata, newlines intact")
    func entry() {
        let fields = JournalFields.entry(
            level: .warning, message: "risk: alarm raised alarm_kind=duct_dirty",
            metadata: ["alarm_kind": "duct_dirty", "camera": "upstream", "reason": "line one\nline two", "cameras": .array(["a", "b"])],
            identifier: "remotaird", file: "Monitoring/Monitor.swift", line: 333, function: "deliver(_:)")
        #expect(fields == [
            "MESSAGE=risk: alarm raised alarm_kind=duct_dirty", "PRIORITY=4", "SYSLOG_IDENTIFIER=remotaird",
            "CODE_FILE=Monitoring/Monitor.swift", "CODE_LINE=333", "CODE_FUNC=deliver(_:)",
            "REMOTAIR_ALARM_KIND=duct_dirty", "REMOTAIR_CAMERA=upstream", "REMOTAIR_CAMERAS=a,b", "REMOTAIR_REASON=line one\nline two",
        ])
    }

    @Test("native entries are chosen only when JOURNAL_STREAM names stderr; otherwise plain lines")
    func nativeOnlyUnderJournal() throws {
        var info = stat()
        fstat(STDERR_FILENO, &info)
        let matching = ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"]
        let others: [[String: String]] = [[:], ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino + 1)"], ["JOURNAL_STREAM": "garbage"]]
        #expect(JournalLogHandler.style(environment: matching) == .native)
        for environment in others { #expect(JournalLogHandler.style(environment: environment) == .plain) }

        for (environment, native) in [(matching, true)] + others.map({ ($0, false) }) {
            let lines = LineSink()
            let entries = EntrySink(accept: true)
            let logger = Logger(label: "camera") { label in
                JournalLogHandler(label: label, level: .info, style: JournalLogHandler.style(environment: environment),
                                  sink: lines.append, send: entries.send, identifier: "remotaird")
            }
            logger.warning("camera offline", metadata: ["camera": "upstream"])
            if native {
                #expect(lines.lines.isEmpty)
                let entry = try #require(entries.entries.first)
                #expect(entries.entries.count == 1)
                #expect(entry.first == "MESSAGE=camera: camera offline camera=upstream")
                #expect(entry.contains("PRIORITY=4") && entry.contains("REMOTAIR_CAMERA=upstream") && entry.contains("SYSLOG_IDENTIFIER=remotaird"))
                #expect(entry.contains { $0.hasPrefix("CODE_FILE=") && $0.hasSuffix("JournalLogHandlerTests.swift") })
            } else {
                #expect(entries.entries.isEmpty)
                #expect(lines.lines.count == 1)
                #expect(lines.lines.first?.hasSuffix(" warning camera: camera offline camera=upstream") == true)
            }
        }
    }

    @Test("an entry journald refuses still reaches stderr as a line with its priority")
    func fallbackLine() {
        let lines = LineSink()
        let entries = EntrySink(accept: false)
        let logger = Logger(label: "uplink") { label in
            JournalLogHandler(label: label, level: .info, style: .native, sink: lines.append, send: entries.send)
        }
        logger.error("upload failed", metadata: ["error": "timeout"])
        #expect(entries.entries.count == 1)
        #expect(lines.lines == ["<3>uplink: upload failed error=timeout"])
    }
}

/// Collects the native entries a handler sends; `accept` is what journald answers.
final class EntrySink: Sendable {
    private let storage = Mutex<[[String]]>([])
    let accept: Bool
    init(accept: Bool) { self.accept = accept }
    var entries: [[String]] { storage.withLock { $0 } }
    func send(_ fields: [String]) -> Bool {
        storage.withLock { $0.append(fields) }
        return accept
    }
}

@Suite("Logging a repeating failure once")
struct StateChangeLogTests {
    @Test("a state is logged when it changes, not when it repeats")
    func oncePerChange() {
        let sink = LineSink()
        let logger = Logger(label: "camera") { label in
            JournalLogHandler(label: label, level: .trace, style: .journal, sink: sink.append)
        }
        let log = StateChangeLog(logger: logger)
        #expect(log.report("upstream", state: "offline", level: .warning, "camera offline"))
        for _ in 0..<99 {
            #expect(!log.report("upstream", state: "offline", level: .warning, "camera offline"))
        }
        #expect(log.report("downstream", state: "offline", level: .warning, "camera offline"))
        #expect(log.report("upstream", state: "ok", level: .notice, "camera back"))
        #expect(sink.lines == [
            "<4>camera: camera offline state=offline",
            "<4>camera: camera offline state=offline",
            "<5>camera: camera back previous_repeats=100 state=ok",
        ])
    }
}

@Suite("log level shared by the process")
struct LogThresholdTests {
    @Test("handlers follow the shared threshold until a logger sets its own level")
    func followsThreshold() {
        let threshold = LogThreshold(.notice)
        let sink = LineSink()
        var logger = Logger(label: "reload") { label in
            JournalLogHandler(label: label, threshold: threshold, style: .journal, sink: sink.append)
        }
        logger.info("hidden")
        threshold.level = .info
        logger.info("shown")
        #expect(sink.lines == ["<6>reload: shown"])

        logger.logLevel = .error
        threshold.level = .trace
        logger.warning("below the logger's own level")
        #expect(sink.lines.count == 1)
    }

    @Test("every level survives the round trip", arguments: Logger.Level.allCases)
    func roundTrip(level: Logger.Level) {
        let threshold = LogThreshold(.critical)
        threshold.level = level
        #expect(threshold.level == level)
    }
}

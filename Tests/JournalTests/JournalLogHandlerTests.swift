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

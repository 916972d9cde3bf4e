import Foundation
import Settings
import Testing
import TestSupport
import Yams

/// Configuration and calibration fuzzed the way a new user's mistakes (or a bad editor) would: every
/// scalar of the annotated example configuration and of Calibration/*.yaml replaced in turn by each
/// hostile value, in the file's own text so every other line, and so every line number, stays as shipped.
/// Each must be accepted or refused with a ConfigurationError, never trap: before durations were
/// range-checked ahead of their Int64 conversion, every duration given a value past 64 bits trapped
/// (SIGILL), stopping `remotaird check-config`, and equally the daemon at start or reload.
///
/// The whole matrix (2,500 files) runs through the Settings parsers in one child process (an exit test: a
/// trap fails the test naming the case, instead of ending the run); `remotaird check-config` itself runs
/// on every duration key given each huge value, the cases that trapped, and must answer with one line
/// naming file, line, key and range. Spawning the binary for every case would take ten minutes in debug:
/// accepted files load and hash the model each time.
@Suite("Configuration mutation fuzz")
struct ConfigurationMutationTests {
    /// Past 64 bits, at and beyond the edges of Int64 and of the clock, not numbers at all, and the
    /// wrong YAML type (empty list, map, string).
    static let hostileValues = [
        "99999999999999999999", "9223372036854775807", "-9223372036854775808", "-1", "0",
        "1e309", ".nan", "-.inf", ".inf", "0x1FFFFFFFFFFFFFFFF", "-0x8000000000000001",
        "99999999999999TB", "99999999999999999999d", "9223372036854775807ms", "1e300s",
        "[]", "{}", "''",
    ]

    /// Values that every duration key must refuse as out of range, naming the file, line and key.
    static let hugeDurations = ["99999999999999999999", "9223372036854775807", "99999999999999999999d", "9223372036854775807ms", "1e300s"]

    /// The example configuration and the calibration files, each with the parser the daemon reads it with.
    enum FuzzedFile: String, CaseIterable {
        case configuration = "remotaird.yaml", classifier = "classifier.yaml", risk = "risk.yaml"
        case sensors = "sensors.yaml", quality = "quality.yaml"

        var shippedPath: String {
            self == .configuration ? PackagePaths.root + "/systemd/remotaird.yaml" : PackagePaths.root + "/Calibration/" + rawValue
        }

        /// Reads `text` as the daemon reads this file; `file` is the name errors give.
        func validate(_ text: String, file: String) throws(ConfigurationError) {
            switch self {
            case .configuration: _ = try DaemonConfiguration.parse(text, file: file)
            case .classifier: _ = try ClassifierCalibration.parse(text, file: file)
            case .risk: _ = try RiskCalibration.parse(text, file: file)
            case .sensors: _ = try SensorCalibration.parse(text, file: file).resolved(board: "remotair-0001")
            case .quality: _ = try QualityCalibration.parse(text, file: file)
            }
        }
    }

    @Test("every scalar of the example configuration and of the calibration, made hostile: refused by name or accepted, never a trap")
    func everyKeyNeverTraps() async throws {
        // The child names each case in this file before running it, so a trap leaves its name as the last
        // line (a failed exit test returns no output of its own).
        let progress = Self.progressFile(parent: getpid())
        defer { try? FileManager.default.removeItem(atPath: progress) }
        await #expect(processExitsWith: .success) {
            let path = ConfigurationMutationTests.progressFile(parent: getppid())
            guard FileManager.default.createFile(atPath: path, contents: nil), let log = FileHandle(forWritingAtPath: path) else { exit(2) }
            func say(_ line: String) { log.write(Data((line + "\n").utf8)) }
            var count = 0, refused = 0, wrong = 0
            for kind in ConfigurationMutationTests.FuzzedFile.allCases {
                let text = try String(contentsOfFile: kind.shippedPath, encoding: .utf8)
                try kind.validate(text, file: kind.rawValue)
                for site in try MutationSite.all(in: text) {
                    for value in ConfigurationMutationTests.hostileValues {
                        count += 1
                        say("case \(kind.rawValue):\(site.line) \(site.keyPath) = \(value)")
                        do throws(ConfigurationError) {
                            try kind.validate(site.replaced(by: value, in: text), file: kind.rawValue)
                        } catch {
                            refused += 1
                            let expected = "\(kind.rawValue):\(site.line): \(site.keyPath): out of range: \(value) is not within "
                            if site.isDuration, ConfigurationMutationTests.hugeDurations.contains(value), !error.description.hasPrefix(expected) {
                                wrong += 1
                                say("WRONG \(kind.rawValue):\(site.line) \(site.keyPath) = \(value): \(error.description)")
                            }
                        }
                    }
                }
            }
            say("done \(count) cases, \(refused) refused, \(wrong) refused without file, line, key and range")
            // Most hostile values must be refused: a parser that accepted anything would pass the rest.
            exit(count > 2_000 && refused > count / 2 && wrong == 0 ? 0 : 1)
        }
        let lines = ((try? String(contentsOfFile: progress, encoding: .utf8)) ?? "").split(separator: "\n")
        let wrong = lines.filter { $0.hasPrefix("WRONG") }
        #expect(lines.last?.hasPrefix("done ") == true, "last case run: \(lines.last ?? "none")")
        #expect(wrong.isEmpty, "\(wrong.prefix(20).joined(separator: "\n"))")
    }

    /// Where the exit test's child, given its parent's pid, writes its progress.
    static func progressFile(parent: pid_t) -> String {
        NSTemporaryDirectory() + "config-fuzz-progress-\(parent)"
    }

    @Test("remotaird check-config refuses every duration key given a huge value with one line naming file, line, key and range")
    func checkConfigRefusesHugeDurations() async throws {
        let remotaird = PackagePaths.executable("remotaird")
        try #require(FileManager.default.isExecutableFile(atPath: remotaird), "build remotaird first (swift build --build-tests)")
        let work = try TemporaryDirectory("config-fuzz")
        defer { work.remove() }

        // The shipped calibration, with the model linked rather than copied into each case.
        let calibrationSource = PackagePaths.root + "/Calibration"
        let baseCalibration = work.file("calibration")
        try makeCalibration(at: baseCalibration, from: calibrationSource, replacing: nil)
        let example = try String(contentsOfFile: FuzzedFile.configuration.shippedPath, encoding: .utf8)
            .replacingOccurrences(of: "calibration_dir: /etc/remotair/calibration", with: "calibration_dir: \(baseCalibration)")
        try #require(example.contains(baseCalibration), "the example no longer names /etc/remotair/calibration")

        // The unmutated set validates: every refusal below is the mutation's doing.
        let baseConfig = try work.write("remotaird.yaml", example)
        let base = try await CheckRun.run(remotaird, ["check-config", "--config", baseConfig], in: work.path, tag: "base")
        try #require(base.signal == nil && base.status == 0, "the example does not validate: \(base.stderr)")

        var cases: [CheckCase] = []
        for site in try MutationSite.all(in: example) where site.isDuration {
            for value in Self.hugeDurations {
                let name = "c\(cases.count)"
                let config = try work.write("\(name).yaml", site.replaced(by: value, in: example))
                cases.append(CheckCase(name: name, config: config, mutatedFile: config, site: site, value: value))
            }
        }
        // Only these two calibration files have durations (risk windows, the SPS30 cleaning interval).
        for file in ["risk.yaml", "sensors.yaml"] {
            let text = try String(contentsOfFile: "\(calibrationSource)/\(file)", encoding: .utf8)
            for site in try MutationSite.all(in: text) where site.isDuration {
                for value in Self.hugeDurations {
                    let name = "c\(cases.count)"
                    let directory = work.file(name)
                    try makeCalibration(at: directory, from: calibrationSource, replacing: (file, site.replaced(by: value, in: text)))
                    let config = try work.write("\(name).yaml", example.replacingOccurrences(of: "calibration_dir: \(baseCalibration)", with: "calibration_dir: \(directory)"))
                    cases.append(CheckCase(name: name, config: config, mutatedFile: "\(directory)/\(file)", site: site, value: value))
                }
            }
        }
        // capture (4), cameras, gpio, control, outbox, uplink; min_dwell, for (x7), camera_offline_after,
        // sensor_faulted_after; cleaning_interval.
        #expect(cases.count >= 100)

        // A few children at once: each is a short-lived process, mostly start-up.
        let results = try await withThrowingTaskGroup(of: (CheckCase, CheckRun).self) { group in
            var pending = cases[...]
            var results: [(CheckCase, CheckRun)] = []
            for _ in 0..<4 {
                guard let next = pending.popFirst() else { break }
                group.addTask { (next, try await CheckRun.run(remotaird, ["check-config", "--config", next.config], in: work.path, tag: next.name)) }
            }
            while let result = try await group.next() {
                results.append(result)
                if let next = pending.popFirst() {
                    group.addTask { (next, try await CheckRun.run(remotaird, ["check-config", "--config", next.config], in: work.path, tag: next.name)) }
                }
            }
            return results
        }

        for (mutation, run) in results {
            let what = "\(mutation.site.keyPath) (line \(mutation.site.line)) = \(mutation.value) in \(mutation.mutatedFile)"
            #expect(run.signal == nil, "check-config died on signal \(run.signal ?? 0): \(what)")
            #expect(run.status == 1, "check-config exited \(run.status): \(what)\n\(run.stderr)")
            // One line naming what is wrong and the allowed range, no trace (calibration errors say
            // "remotaird: calibration: " first).
            let expected = "\(mutation.mutatedFile):\(mutation.site.line): \(mutation.site.keyPath): out of range: \(mutation.value) is not within "
            #expect(run.stderr.hasPrefix("remotaird: ") && run.stderr.contains(expected) && run.stderr.filter { $0 == "\n" }.count == 1,
                    "\(what): \(run.stderr)")
        }
    }

    /// A calibration folder: the shipped YAML files (one of them replaced), the model as a symbolic link.
    private func makeCalibration(at directory: String, from source: String, replacing: (file: String, text: String)?) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in ["classifier.yaml", "quality.yaml", "risk.yaml", "sensors.yaml"] {
            let text = if let replacing, replacing.file == file { replacing.text } else { try String(contentsOfFile: "\(source)/\(file)", encoding: .utf8) }
            try text.write(toFile: "\(directory)/\(file)", atomically: false, encoding: .utf8)
        }
        try manager.createSymbolicLink(atPath: "\(directory)/duct-classifier.onnx", withDestinationPath: "\(source)/duct-classifier.onnx")
    }
}

/// One mutated file to check.
struct CheckCase: Sendable {
    var name: String
    var config: String
    var mutatedFile: String
    var site: MutationSite
    var value: String
}

/// A value scalar in a YAML text: where it is, its key path as the daemon's errors spell it, and its text.
struct MutationSite: Sendable {
    var keyPath: String
    var line: Int
    var column: Int
    /// The scalar's text as it stands in the file, quotes included.
    var source: String
    var original: String

    /// Written like a duration (`15m`, `500ms`): the keys that trapped on huge values.
    var isDuration: Bool { original.range(of: #"^[0-9.]+(ms|s|m|h|d)$"#, options: .regularExpression) != nil }

    /// The text with this scalar, and nothing else, replaced.
    func replaced(by value: String, in text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        let scalars = Array(lines[line - 1].unicodeScalars)
        let start = column - 1
        var edited = String.UnicodeScalarView()
        edited.append(contentsOf: scalars[..<start])
        edited.append(contentsOf: value.unicodeScalars)
        edited.append(contentsOf: scalars[(start + source.unicodeScalars.count)...])
        lines[line - 1] = String(edited)
        return lines.joined(separator: "\n")
    }

    /// Every value scalar (keys stay: a hostile key is only an unknown key).
    static func all(in text: String) throws -> [MutationSite] {
        guard let root = try Yams.compose(yaml: text) else { return [] }
        let lines = text.components(separatedBy: "\n")
        var sites: [MutationSite] = []
        func walk(_ node: Node, _ path: String) throws {
            switch node {
            case .scalar(let scalar):
                guard let mark = scalar.mark else { return }
                let rest = String(String.UnicodeScalarView(Array(lines[mark.line - 1].unicodeScalars).dropFirst(mark.column - 1)))
                let source: String
                switch scalar.style {
                case .plain:
                    source = scalar.string
                case .singleQuoted, .doubleQuoted:
                    // The files quote without escapes; anything else fails the check below.
                    let quote = scalar.style == .singleQuoted ? "'" : "\""
                    source = quote + scalar.string + quote
                default:
                    Issue.record("block scalar at \(path) (line \(mark.line)) is not mutated")
                    return
                }
                guard rest.hasPrefix(source) else {
                    throw MutationError(reason: "line \(mark.line) column \(mark.column) does not start with \(source): \(rest)")
                }
                sites.append(MutationSite(keyPath: path, line: mark.line, column: mark.column, source: source, original: scalar.string))
            case .mapping(let mapping):
                for (key, value) in mapping {
                    let name = key.string ?? "?"
                    try walk(value, path.isEmpty ? name : "\(path).\(name)")
                }
            case .sequence(let sequence):
                for (index, element) in sequence.enumerated() { try walk(element, "\(path)[\(index)]") }
            case .alias:
                return
            }
        }
        try walk(root, "")
        return sites
    }
}

struct MutationError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// One finished `remotaird` run: its exit status or the signal that ended it, and its standard error.
/// Output goes to files, not pipes, so a child that writes much can never block on a full pipe.
struct CheckRun: Sendable {
    var status: Int32
    var signal: Int32?
    var stderr: String

    static func run(_ executable: String, _ arguments: [String], in directory: String, tag: String) async throws -> CheckRun {
        let errorPath = "\(directory)/\(tag).stderr"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil) else {
            throw MutationError(reason: "cannot create \(errorPath)")
        }
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // A trapping child would otherwise spend some 25 s writing a symbolicated backtrace.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let (status, reason) = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, Process.TerminationReason), any Error>) in
            process.terminationHandler = { finished in continuation.resume(returning: (finished.terminationStatus, finished.terminationReason)) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try errorHandle.close()
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return reason == .uncaughtSignal ? CheckRun(status: -1, signal: status, stderr: stderr) : CheckRun(status: status, signal: nil, stderr: stderr)
    }
}

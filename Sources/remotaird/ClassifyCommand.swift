import ArgumentParser
import Foundation
import Inference

/// `remotaird classify [--model PATH] [--config FILE] [--json] IMAGE...`: one line per image.
/// Exit 0 when every image was classified, 1 when any failed (each failure named on stderr, the others
/// still classified), 2 for usage errors or a model that does not load.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify JPEG images with the on-device model.",
        discussion: """
            remotaird classify [--model PATH] [--config FILE] [--json] IMAGE...
            Without --model: inference.model from configuration, else model: in classifier.yaml of the calibration folder.
            Output per image: 'FILE: LABEL (label p, ...) N ms', or with --json
            {"file": "...", "label": "dirty", "scores": {"clean": 0.12, "dirty": 0.88}, "ms": 3.1}
            Exit status: 0 all classified, 1 any image failed, 2 usage error or model not loadable.
            REMOTAIRD_MEMORY_REPORT=1 in the environment prints this process's peak and resident memory on stderr.
            """)

    @Argument(parsing: .captureForPassthrough, help: "--model PATH, --config FILE, --json, then image files.")
    var arguments: [String] = []

    func run() throws {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(Self.helpMessage())
            return
        }
        let commandLine: InferenceCommandLine
        let classifier: Classifier
        do throws(InferenceCommandLine.UsageError) {
            commandLine = try InferenceCommandLine(arguments, valueOptions: ["--model", "--config"], flags: ["--json"])
            guard !commandLine.positional.isEmpty else { throw InferenceCommandLine.UsageError(message: "no images given") }
            classifier = try commandLine.classifier()
        } catch {
            printError("classify: \(error.message)")
            throw ExitCode(2)
        }
        var failed = false
        for file in commandLine.positional {
            do {
                guard let data = FileManager.default.contents(atPath: file) else { throw InferenceError.image("cannot read the file") }
                let result = try classifier.classify(jpeg: [UInt8](data))
                if commandLine.json {
                    let scores = classifier.labels.map { "\(jsonString($0)): \(jsonNumber(result.scores[$0] ?? 0, decimals: 6))" }
                    print("{\"file\": \(jsonString(file)), \"label\": \(jsonString(result.label)), \"scores\": {\(scores.joined(separator: ", "))}, \"ms\": \(jsonNumber(result.milliseconds, decimals: 2))}")
                } else {
                    let scores = classifier.labels.map { "\($0) \(fixed(result.scores[$0] ?? 0, decimals: 4))" }
                    print("\(file): \(result.label) (\(scores.joined(separator: ", "))) \(fixed(result.milliseconds, decimals: 1)) ms")
                }
            } catch {
                printError("classify: \(file): \(error)")
                failed = true
            }
        }
        if ProcessInfo.processInfo.environment["REMOTAIRD_MEMORY_REPORT"] != nil { reportMemory() }
        if failed { throw ExitCode(1) }
    }
}

/// `REMOTAIRD_MEMORY_REPORT=1`: peak and current memory of this process from /proc/self/status on stderr,
/// e.g. `remotaird: memory: VmHWM=21504 VmRSS=20100 RssAnon=6000 RssFile=14100 (kB)` (scripts/bench/bench-classifier
/// prints it next to the Python pipeline's).
func reportMemory() {
    guard let file = fopen("/proc/self/status", "r") else { return }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    var fields: [String] = []
    while fgets(&line, Int32(line.count), file) != nil {
        let parts = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        if parts.count >= 2, ["VmHWM:", "VmRSS:", "RssAnon:", "RssFile:"].contains(parts[0]) {
            fields.append("\(parts[0].dropLast())=\(parts[1])")
        }
    }
    printError("memory: \(fields.joined(separator: " ")) (kB)")
}

/// `remotaird infer [--model PATH] [--config FILE] --npy INPUT.npy [--json]`: the model on an exact input
/// tensor (NumPy float32, C order), printing the output. Same exit statuses as `classify`.
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the model on an exact input tensor from a .npy file.",
        discussion: """
            remotaird infer [--model PATH] [--config FILE] --npy INPUT.npy [--json] [--repeat N]
            --repeat N runs the model N times and prints the median latency on stderr.
            Output: the shape and values, or with --json {"shape": [1, 2], "output": [0.12, 0.88]}
            Exit status: 0 success, 1 the input failed, 2 usage error or model not loadable.
            """)

    @Argument(parsing: .captureForPassthrough, help: "--model PATH, --config FILE, --npy INPUT.npy, --json.")
    var arguments: [String] = []

    func run() throws {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(Self.helpMessage())
            return
        }
        let commandLine: InferenceCommandLine
        let classifier: Classifier
        let npy: String
        do throws(InferenceCommandLine.UsageError) {
            commandLine = try InferenceCommandLine(arguments, valueOptions: ["--model", "--config", "--npy", "--repeat"], flags: ["--json"])
            guard commandLine.positional.isEmpty else {
                throw InferenceCommandLine.UsageError(message: "unexpected argument \(commandLine.positional[0])")
            }
            guard let path = commandLine.npy else { throw InferenceCommandLine.UsageError(message: "--npy INPUT.npy is required") }
            npy = path
            classifier = try commandLine.classifier()
        } catch {
            printError("infer: \(error.message)")
            throw ExitCode(2)
        }
        do {
            guard let data = FileManager.default.contents(atPath: npy) else { throw InferenceError.npy("cannot read \(npy)") }
            let array = try NumPyArray(bytes: [UInt8](data))
            guard array.shape == classifier.inputShape else {
                throw InferenceError.inputMismatch("\(npy) has shape \(array.shape), the model takes \(classifier.inputShape)")
            }
            var (shape, output) = try classifier.run(input: array.values)
            if commandLine.repeatCount > 1 {
                var times: [Double] = []
                for _ in 0..<commandLine.repeatCount {
                    let start = ContinuousClock.now
                    (shape, output) = try classifier.run(input: array.values)
                    let elapsed = ContinuousClock.now - start
                    times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                }
                times.sort()
                if ProcessInfo.processInfo.environment["REMOTAIR_PROFILE"] != nil {
                    var byOperator: [String: Double] = [:]
                    for (op, milliseconds) in try classifier.profile(input: array.values) { byOperator[op, default: 0] += milliseconds }
                    for (op, milliseconds) in byOperator.sorted(by: { $0.value > $1.value }) {
                        printError("profile: \(op) \(fixed(milliseconds, decimals: 3)) ms")
                    }
                }
                printError("infer: \(times.count) runs, median \(fixed(times[times.count / 2], decimals: 3)) ms, min \(fixed(times[0], decimals: 3)) ms")
            }
            if commandLine.json {
                print("{\"shape\": [\(shape.map(String.init).joined(separator: ", "))], \"output\": [\(output.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", "))]}")
            } else {
                print("shape \(shape)")
                print(output.map { "\($0)" }.joined(separator: " "))
            }
        } catch {
            printError("infer: \(npy): \(error)")
            throw ExitCode(1)
        }
    }
}

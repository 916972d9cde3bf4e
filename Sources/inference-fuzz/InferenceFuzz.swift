import Foundation
import Inference
import ONNX
import Settings

// Coverage-guided fuzzing of untrusted inputs (scripts/testing/fuzz-inference builds this with
// `--sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING`; libFuzzer then supplies
// `main` and calls LLVMFuzzerTestOneInput). Two targets, chosen by INFERENCE_FUZZ_TARGET:
//   model  bytes -> ONNXModel -> ExecutionPlan (8 MB arena) -> one run -> Classifier load
//   jpeg   bytes -> Classifier.classify(jpeg:) with the fixture model in INFERENCE_FUZZ_MODEL
// Any thrown error is a pass: only crashes, sanitizer reports, leaks and hangs are findings.
// In an ordinary build the same bodies run on files given on the command line (a reproducer).

/// Small, so that absurd shapes are refused at planning instead of allocating.
let arenaLimitMB = 8

enum FuzzTarget: String {
    case model, jpeg

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["INFERENCE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("inference-fuzz: set INFERENCE_FUZZ_TARGET to model or jpeg\n".utf8))
            exit(2)
        }
        return target
    }()

    /// Loaded once for the jpeg target; a missing or broken fixture stops the run, it is not a finding.
    static let classifier: Classifier = {
        let path = ProcessInfo.processInfo.environment["INFERENCE_FUZZ_MODEL"] ?? "Tests/InferenceTests/Fixtures/mobilenet_v2_qdq_pc.onnx"
        do {
            return try Classifier(modelPath: path, settings: InferenceSettings(arenaLimitMB: arenaLimitMB))
        } catch {
            FileHandle.standardError.write(Data("inference-fuzz: cannot load \(path): \(error)\n".utf8))
            exit(2)
        }
    }()

    /// Runs one input; returns a one-word outcome for the reproducer.
    func run(_ bytes: [UInt8]) -> String {
        switch self {
        case .model:
            do {
                let model = try ONNXModel(bytes: Data(bytes))
                let plan = try ExecutionPlan(model: model, arenaLimit: arenaLimitMB << 20)
                _ = try plan.run(input: [Float](repeating: 0.5, count: plan.inputCount))
                // The classifier's own checks (input layout, metadata_props) on a model that plans.
                let classifier = try Classifier(modelBytes: Data(bytes), settings: InferenceSettings(arenaLimitMB: arenaLimitMB))
                _ = try classifier.run(input: [Float](repeating: 0.25, count: classifier.inputShape.reduce(1, *)))
                return "loaded"
            } catch {
                return "refused: \(error)"
            }
        case .jpeg:
            do {
                _ = try Self.classifier.classify(jpeg: bytes)
                return "classified"
            } catch {
                return "refused: \(error)"
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = FuzzTarget.selected.run(bytes)
    return 0
}

#if !FUZZING
/// Reproducer: `inference-fuzz model|jpeg FILE...` runs the fuzz target's body on each file.
@main struct InferenceFuzz {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let first = arguments.first, let target = FuzzTarget(rawValue: first) else {
            FileHandle.standardError.write(Data("usage: inference-fuzz model|jpeg FILE...\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): unreadable")
                continue
            }
            print("\(path): \(target.run([UInt8](data)))")
        }
    }
}
#endif

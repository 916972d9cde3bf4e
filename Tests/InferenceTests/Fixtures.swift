import Foundation
import Inference
import ONNX
import TestSupport

/// The parity fixtures made by scripts/testing/make-fixtures.py: models, inputs and onnxruntime's outputs.
/// `INFERENCE_FIXTURES` points at a freshly generated set (scripts/test.d/30-inference-parity); otherwise
/// the committed set under Tests/InferenceTests/Fixtures is used.
struct Fixtures {
    struct Case: Sendable {
        var name: String
        var kind: String
        /// One quantization step of the output, for quantized single-operator cases.
        var step: Double?
    }

    let directory: String
    let cases: [Case]
    let onnxruntime: String

    static var directory: String {
        ProcessInfo.processInfo.environment["INFERENCE_FIXTURES"]
            ?? (PackagePaths.root as NSString).appendingPathComponent("Tests/InferenceTests/Fixtures")
    }

    /// Loads the manifest; throws a message naming the folder and the script when the fixtures are missing.
    static func load() throws -> Fixtures {
        let directory = directory
        let manifestPath = (directory as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestPath),
              let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = manifest["cases"] as? [[String: Any]], !entries.isEmpty else {
            throw FixtureError("parity fixtures missing at \(manifestPath): run scripts/testing/make-fixtures.py \(directory)")
        }
        let cases = entries.compactMap { entry -> Case? in
            guard let name = entry["name"] as? String, let kind = entry["kind"] as? String else { return nil }
            return Case(name: name, kind: kind, step: entry["step"] as? Double)
        }
        return Fixtures(directory: directory, cases: cases, onnxruntime: manifest["onnxruntime"] as? String ?? "?")
    }

    func path(_ name: String, _ suffix: String) -> String { (directory as NSString).appendingPathComponent(name + suffix) }

    func model(_ name: String) throws -> ONNXModel { try ONNXModel(path: path(name, ".onnx")) }

    func array(_ name: String, _ suffix: String) throws -> NumPyArray {
        guard let data = FileManager.default.contents(atPath: path(name, suffix)) else { throw FixtureError("missing \(path(name, suffix))") }
        return try NumPyArray(bytes: [UInt8](data))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

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
        /// One quantization step of the output, for quantized cases.
        var step: Double?
        /// Network cases: the file holding all their inputs stacked ([K, 1, 3, H, W], shared by a network's
        /// float and quantized forms), each input's kind, and whether the graph ends in Softmax.
        var inputs: String?
        var inputKinds: [String] = []
        var probabilities = false
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
            return Case(name: name, kind: kind, step: entry["step"] as? Double, inputs: entry["inputs"] as? String,
                        inputKinds: entry["input_kinds"] as? [String] ?? [], probabilities: entry["probabilities"] as? Bool ?? false)
        }
        return Fixtures(directory: directory, cases: cases, onnxruntime: manifest["onnxruntime"] as? String ?? "?")
    }

    func path(_ name: String, _ suffix: String) -> String { (directory as NSString).appendingPathComponent(name + suffix) }

    func model(_ name: String) throws -> ONNXModel { try ONNXModel(path: path(name, ".onnx")) }

    /// A network case's inputs and onnxruntime's output for each, in the same order.
    func inputsAndOutputs(_ item: Case) throws -> [(kind: String, input: [Float], expected: [Float])] {
        guard let file = item.inputs else { throw FixtureError("\(item.name): no stacked inputs in the manifest") }
        let inputs = try array(file, ""), outputs = try array(item.name, ".outputs.npy")
        let count = item.inputKinds.count
        guard count > 0, inputs.shape.first == count, outputs.shape.first == count else {
            throw FixtureError("\(item.name): \(count) input kinds, inputs \(inputs.shape), outputs \(outputs.shape)")
        }
        let inputSize = inputs.values.count / count, outputSize = outputs.values.count / count
        return (0..<count).map { index in
            (item.inputKinds[index], Array(inputs.values[index * inputSize..<(index + 1) * inputSize]),
             Array(outputs.values[index * outputSize..<(index + 1) * outputSize]))
        }
    }

    func array(_ name: String, _ suffix: String) throws -> NumPyArray {
        guard let data = FileManager.default.contents(atPath: path(name, suffix)) else { throw FixtureError("missing \(path(name, suffix))") }
        return try NumPyArray(bytes: [UInt8](data))
    }
}

/// A little-endian float32 .npy file (version 1.0), for handing tensors to the Python peer.
func numpyBytes(shape: [Int], values: [Float]) -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
    // The header, with its 10-byte preamble and closing newline, pads to a multiple of 64 bytes.
    header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
    bytes += Array(header.utf8)
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
    return bytes
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

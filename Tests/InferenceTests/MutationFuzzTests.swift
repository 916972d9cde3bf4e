import Foundation
import Inference
import JPEG
import ONNX
import Testing

/// Bounded mutation fuzzing inside the suite: fixture bytes truncated, bit-flipped, overwritten and
/// spliced with a fixed seed. The model loader and the JPEG path must either succeed or throw their
/// named errors; a crash fails the whole test run. Each loop is capped in count and in time.
@Suite struct MutationFuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ bytes: [UInt8], with other: [UInt8], random: inout SplitMix) -> [UInt8] {
        var data = bytes
        guard !data.isEmpty else { return data }
        switch random.next() % 5 {
        case 0: data = Array(data.prefix(Int(random.next() % UInt64(data.count))))
        case 1:
            for _ in 0..<(1 + random.next() % 8) {
                let index = Int(random.next() % UInt64(data.count))
                data[index] ^= UInt8(1 << (random.next() % 8))
            }
        case 2:
            for _ in 0..<(1 + random.next() % 4) {
                let index = Int(random.next() % UInt64(data.count))
                data[index] = [0x00, 0xFF, 0x7F, 0x80, 0x01][Int(random.next() % 5)]
            }
        case 3:
            let cut = Int(random.next() % UInt64(data.count)), from = Int(random.next() % UInt64(max(other.count, 1)))
            data = Array(data[..<cut]) + Array(other[min(from, other.count)...])
        default:
            let start = Int(random.next() % UInt64(data.count))
            let length = min(Int(random.next() % 64), data.count - start)
            data.insert(contentsOf: data[start..<(start + length)], at: Int(random.next() % UInt64(data.count)))
        }
        return data
    }

    @Test func mutatedModelsLoadOrFailWithNamedErrors() throws {
        let fixtures = try Fixtures.load()
        let names = ["mobilenet_v2_qdq_pc", "resnet_qop", "mobilenet_v3_block_qdq_pt", "op_conv_grouped_qop", "op_flatten_gemm_qdq_pc", "op_concat_qop"]
        let models = try names.map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixtures.path($0, ".onnx")))) }
        var random = SplitMix(state: 0x5EED)
        let deadline = ContinuousClock.now + .seconds(30)
        var (loaded, refused, iterations) = (0, 0, 0)
        while iterations < 1500 && ContinuousClock.now < deadline {
            iterations += 1
            let index = Int(random.next() % UInt64(models.count))
            let mutated = Self.mutate(models[index], with: models[(index + 1) % models.count], random: &random)
            do {
                let model = try ONNXModel(bytes: Data(mutated))
                let plan = try ExecutionPlan(model: model, arenaLimit: 16 << 20)
                _ = try plan.run(input: [Float](repeating: 0.5, count: plan.inputCount))
                loaded += 1
            } catch is ONNXError {
                refused += 1
            } catch is InferenceError {
                refused += 1
            }
        }
        print("fuzz models: \(iterations) mutations, \(loaded) loaded and ran, \(refused) refused with named errors")
        #expect(refused > 0 && iterations >= 100)
    }

    @Test func mutatedJPEGsClassifyOrFailWithNamedErrors() throws {
        let fixtures = try Fixtures.load()
        let classifier = try Classifier(modelPath: fixtures.path("mobilenet_v2_qdq_pc", ".onnx"))
        let encoder = try JPEGEncoder()
        let image = ClassifierTests.image(width: 160, height: 120)
        let seeds = [try encoder.encode(image, quality: 85), try encoder.encode(image, quality: 70, progressive: true),
                     try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixtures.directory + "/greyscale.jpg")))]
        var random = SplitMix(state: 0xC0FFEE)
        let deadline = ContinuousClock.now + .seconds(30)
        var (classified, refused, iterations) = (0, 0, 0)
        while iterations < 1500 && ContinuousClock.now < deadline {
            iterations += 1
            let index = Int(random.next() % UInt64(seeds.count))
            let mutated = Self.mutate(seeds[index], with: seeds[(index + 1) % seeds.count], random: &random)
            do {
                _ = try classifier.classify(jpeg: mutated)
                classified += 1
            } catch {
                refused += 1
            }
        }
        print("fuzz jpeg: \(iterations) mutations, \(classified) classified, \(refused) refused with named errors")
        #expect(refused > 0 && iterations >= 100)
    }
}

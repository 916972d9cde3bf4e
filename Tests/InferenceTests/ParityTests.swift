import Foundation
import Inference
import Testing

/// Our runtime against onnxruntime on the same models and inputs (fixtures from make-fixtures.py).
@Suite struct ParityTests {
    @Test func singleOperatorsMatchOnnxruntime() throws {
        let fixtures = try Fixtures.load()
        let cases = fixtures.cases.filter { $0.kind == "op" }
        #expect(cases.count >= 40)
        for item in cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            let input = try fixtures.array(item.name, ".input.npy")
            let expected = try fixtures.array(item.name, ".expected.npy")
            let output = try plan.run(input: input.values)
            #expect(plan.outputShape.reduce(1, *) == expected.values.count, "\(item.name): shape \(plan.outputShape) vs \(expected.shape)")
            // Quantized: within one quantization step of the output; float: float rounding only.
            let tolerance = item.step.map { $0 * 1.0001 + 1e-6 } ?? 1e-4
            var worst = 0.0
            for (ours, theirs) in zip(output, expected.values) {
                let difference = abs(Double(ours) - Double(theirs))
                worst = max(worst, item.step == nil ? difference / max(1, abs(Double(theirs))) : difference)
            }
            print("parity op \(item.name): max difference \(worst) (tolerance \(tolerance))")
            #expect(worst <= tolerance, "\(item.name): max difference \(worst) over \(tolerance)")
        }
    }

    @Test func networksMatchOnnxruntime() throws {
        let fixtures = try Fixtures.load()
        let cases = fixtures.cases.filter { $0.kind == "network" }
        #expect(cases.count >= 12)
        var allDifferences: [Double] = []
        for item in cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            let input = try fixtures.array(item.name, ".input.npy")
            let expected = try fixtures.array(item.name, ".expected.npy")
            let output = try plan.run(input: input.values)
            try #require(output.count == expected.values.count, "\(item.name)")
            let softmax = !["Softmax", "Sigmoid"].contains(plan.outputOperator)
            let ours = softmax ? Self.softmax(output) : output.map(Double.init)
            let theirs = softmax ? Self.softmax(expected.values) : expected.values.map(Double.init)
            let differences = zip(ours, theirs).map { abs($0 - $1) }
            allDifferences += differences
            let argmaxOurs = ours.indices.max { ours[$0] < ours[$1] }, argmaxTheirs = theirs.indices.max { theirs[$0] < theirs[$1] }
            print("parity network \(item.name): probabilities \(ours.map { String(format: "%.4f", $0) }) vs onnxruntime \(theirs.map { String(format: "%.4f", $0) }), max difference \(String(format: "%.5f", differences.max() ?? 0))")
            #expect(argmaxOurs == argmaxTheirs, "\(item.name): argmax \(String(describing: argmaxOurs)) vs \(String(describing: argmaxTheirs))")
            #expect((differences.max() ?? 0) <= 0.02, "\(item.name): probability difference \(differences.max() ?? 0)")
        }
        let sorted = allDifferences.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print("parity networks (onnxruntime \(fixtures.onnxruntime)): \(sorted.count) probabilities, |difference| median \(percentile(0.5)), p90 \(percentile(0.9)), max \(sorted.last ?? 0)")
    }

    static func softmax(_ values: [Float]) -> [Double] {
        let largest = Double(values.max() ?? 0)
        let e = values.map { exp(Double($0) - largest) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}

/// The dot-product kernels (AVX-512 VNNI where the CPU has it) against the portable kernels:
/// bit-identical outputs on every quantized fixture.
@Suite(.serialized) struct KernelPathTests {
    @Test func fastAndPortableKernelsAgreeExactly() throws {
        let fixtures = try Fixtures.load()
        print("int8 kernels: \(CInferenceKernelsInfo.name) (fast path available: \(CInferenceKernelsInfo.fastAvailable))")
        for item in fixtures.cases where !item.name.hasSuffix("_float") {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let fast = try ExecutionPlan(model: model).run(input: input)
            let portable = try CInferenceKernelsInfo.withPortableKernels { try ExecutionPlan(model: model).run(input: input) }
            #expect(fast == portable, "\(item.name)")
        }
    }

    /// The float convolution kernels of this CPU (AVX-512F or AVX2+FMA) against the portable ones on every
    /// float fixture: fused multiply-adds round differently, so within float rounding, not bit for bit.
    @Test func fastAndPortableFloatKernelsAgree() throws {
        let fixtures = try Fixtures.load()
        print("float kernels: \(CInferenceKernelsInfo.floatName)")
        for item in fixtures.cases where item.name.hasSuffix("_float") {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let fast = try ExecutionPlan(model: model).run(input: input)
            let portable = try #require(try CInferenceKernelsInfo.withFloatKernels("portable") { try ExecutionPlan(model: model).run(input: input) })
            try #require(fast.count == portable.count)
            let worst = zip(fast, portable).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= 1e-4, "\(item.name): fast and portable float kernels differ by \(worst)")
        }
    }

    /// `inference.threads`: the convolutions split across threads give exactly the one-thread result.
    @Test func threadedRunsMatchOneThread() throws {
        let fixtures = try Fixtures.load()
        for item in fixtures.cases {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let threaded = try ExecutionPlan(model: model, threads: 3)
            #expect(threaded.threads == 3)
            #expect(try threaded.run(input: input) == ExecutionPlan(model: model).run(input: input), "\(item.name)")
        }
    }
}

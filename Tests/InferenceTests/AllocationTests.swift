import Geometry
import CAllocationCounter
import Inference
import JPEG
import Settings
import Testing

/// Running a plan makes no heap allocation: proven with a malloc interposer that counts this thread's calls.
@Suite struct AllocationTests {
    @Test(arguments: ["mobilenet_v2_qdq_pc", "resnet_qop", "mobilenet_v3_block_float", "mobilenet_v2_float"])
    func inferenceAllocatesNothing(name: String) throws {
        let fixtures = try Fixtures.load()
        let plan = try ExecutionPlan(model: fixtures.model(name))
        let input = try fixtures.array(name, ".input.npy").values
        var output = [Float](repeating: 0, count: plan.outputCount)
        let before = remotair_thread_allocations()
        // The counter itself works: an array allocation is seen.
        let probe = [Int](repeating: 1, count: Int(before % 7) + 100)
        let afterProbe = remotair_thread_allocations()
        #expect(afterProbe > before, "malloc interposer is not active (\(probe.count))")
        try input.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { target in
                try plan.run(input: source, output: target)   // warm-up (lazy runtime metadata)
                let start = remotair_thread_allocations()
                for _ in 0..<5 { try plan.run(input: source, output: target) }
                let allocations = remotair_thread_allocations() - start
                #expect(allocations == 0, "\(name): \(allocations) heap allocations in 5 inferences")
            }
        }
        #expect(output.contains { $0 != 0 })
    }

    /// With worker threads the caller still allocates nothing (the workers run only C kernels).
    @Test(arguments: ["mobilenet_v2_qdq_pc", "mobilenet_v2_float"])
    func threadedInferenceAllocatesNothing(name: String) throws {
        let fixtures = try Fixtures.load()
        let plan = try ExecutionPlan(model: fixtures.model(name), threads: 2)
        let input = try fixtures.array(name, ".input.npy").values
        var output = [Float](repeating: 0, count: plan.outputCount)
        try input.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { target in
                try plan.run(input: source, output: target)
                let start = remotair_thread_allocations()
                for _ in 0..<5 { try plan.run(input: source, output: target) }
                #expect(remotair_thread_allocations() - start == 0, "\(name)")
            }
        }
    }

    /// Every fixture model, one by one, so an allocating kernel is named.
    @Test func everyFixtureRunsWithoutAllocating() throws {
        let fixtures = try Fixtures.load()
        var offenders: [String] = []
        for item in fixtures.cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            let input = try fixtures.array(item.name, ".input.npy").values
            var output = [Float](repeating: 0, count: plan.outputCount)
            try input.withUnsafeBufferPointer { source in
                try output.withUnsafeMutableBufferPointer { target in
                    try plan.run(input: source, output: target)   // warm-up (lazy runtime metadata)
                    let start = remotair_thread_allocations()
                    try plan.run(input: source, output: target)
                    let allocations = remotair_thread_allocations() - start
                    if allocations > 0 { offenders.append("\(item.name) \(plan.stepOperators): \(allocations)") }
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "; "))")
    }

    /// Resizing a decoded frame into the model's input tensor (resize, round, normalise, NCHW) with the
    /// classifier's kept resampler allocates nothing once the frame geometry is known.
    @Test func framePreprocessingAllocatesNothingAfterTheFirstFrame() throws {
        let preprocessor = Preprocessor(width: 224, height: 224, mean: ModelMetadata.defaultMean, std: ModelMetadata.defaultStd, resize: .centerCrop)
        let frame = RGBImage(width: 640, height: 360, filledWith: (90, 120, 150))
        var resampler = InputResampler()
        var tensor = [Float](repeating: 0, count: 3 * 224 * 224)
        let roi = NormalizedRect(x: 0.1, y: 0.1, width: 0.8, height: 0.8)
        try tensor.withUnsafeMutableBufferPointer { buffer in
            try preprocessor.tensor(from: frame, regionOfInterest: roi, into: buffer, resampler: &resampler)   // first frame: tables, rows
            let start = remotair_thread_allocations()
            for _ in 0..<3 { try preprocessor.tensor(from: frame, regionOfInterest: roi, into: buffer, resampler: &resampler) }
            let allocations = remotair_thread_allocations() - start
            #expect(allocations == 0, "\(allocations) heap allocations in 3 frames")
        }
        #expect(abs(tensor[0] - (90 / 255 - 0.485) / 0.229) < 1e-5)
    }
}

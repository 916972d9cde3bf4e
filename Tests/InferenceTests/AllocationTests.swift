import CAllocationCounter
import Inference
import Testing

/// Running a plan makes no heap allocation: proven with a malloc interposer that counts this thread's calls.
@Suite struct AllocationTests {
    @Test(arguments: ["mobilenet_v2_qdq_pc", "resnet_qop", "mobilenet_v3_block_float"])
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
    @Test func threadedInferenceAllocatesNothing() throws {
        let fixtures = try Fixtures.load()
        let plan = try ExecutionPlan(model: fixtures.model("mobilenet_v2_qdq_pc"), threads: 2)
        let input = try fixtures.array("mobilenet_v2_qdq_pc", ".input.npy").values
        var output = [Float](repeating: 0, count: plan.outputCount)
        try input.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { target in
                try plan.run(input: source, output: target)
                let start = remotair_thread_allocations()
                for _ in 0..<5 { try plan.run(input: source, output: target) }
                #expect(remotair_thread_allocations() - start == 0)
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
}

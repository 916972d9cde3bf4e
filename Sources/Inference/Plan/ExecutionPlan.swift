import CInferenceKernels
import Foundation
import ONNX

/// A model compiled for execution: nodes in order, shapes checked, every activation placed in one
/// arena where buffers whose lifetimes do not overlap share memory. Running it allocates nothing:
/// each step is a kernel closure over fixed pointers made at load.
///
/// Not thread-safe: the arena is shared by all runs. Use one plan per thread, or serialise calls
/// (`Classifier` does).
public final class ExecutionPlan {
    /// Shape of the single float32 input (symbolic batch set to 1).
    public let inputShape: [Int]
    /// Shape of the first graph output.
    public let outputShape: [Int]
    /// Bytes of activation memory, all in one allocation.
    public let arenaBytes: Int
    /// Operator of each step, in execution order (for diagnostics and tests).
    public let stepOperators: [String]
    /// The op type of the node producing the output (to decide whether softmax is still needed).
    public let outputOperator: String

    /// A kernel in a struct: reading a closure out of an array directly would re-abstract it,
    /// which allocates a thunk on every call.
    private struct Step {
        let run: Kernel
    }

    private let steps: [Step]
    private let arena: UnsafeMutableRawPointer
    private let constantStorage: [UnsafeMutableRawPointer]
    private let inputPointer: UnsafeMutablePointer<Float>
    private let outputPointer: UnsafeMutablePointer<Float>
    /// Number of input values (stored: computing it in `run` would allocate in debug builds).
    public let inputCount: Int
    public let outputCount: Int

    /// Set when the first step only quantizes the float input (per tensor) into channels-last bytes and
    /// nothing else reads the float input: a preprocessor can then write those bytes itself
    /// (`quantizedInputBuffer`) and `runQuantized(output:)` skips that step. Nil otherwise.
    public let inputQuantization: InputQuantization?
    private let quantizedInputPointer: UnsafeMutableRawPointer?

    /// Threads the big kernels split their work across (the calling thread included).
    public let threads: Int
    private let pool: OpaquePointer?

    /// `threads` > 1 starts that many minus one worker threads, owned by the plan; convolutions then split
    /// their pixels or output rows across them (results are identical to one thread's).
    ///
    /// Memory: handed the caller's last reference to `model`, the plan lets each weight tensor go once the
    /// last node reading it is lowered (its kernel keeps a packed copy), so the model's tensors and their
    /// packed forms are never all resident at once.
    public convenience init(model: consuming ONNXModel, arenaLimit: Int = 64 << 20, threads: Int = 1) throws(InferenceError) {
        try self.init(model: consume model, arenaLimit: arenaLimit, threads: threads, bandedPairs: true)
    }

    /// `bandedPairs` false keeps every pointwise -> depthwise pair as two whole steps (tests compare both);
    /// `bandOutputRows` sets the band height of those that are banded (nil: `BandedPair.defaultOutputRows`).
    package init(model: consuming ONNXModel, arenaLimit: Int = 64 << 20, threads: Int = 1, bandedPairs: Bool,
                 bandOutputRows: Int? = nil) throws(InferenceError) {
        let pool = threads > 1 ? rk_pool_create(Int32(min(threads, 64))) : nil
        self.pool = pool
        self.threads = Int(rk_pool_threads(pool))
        var ready = false
        defer { if !ready { rk_pool_destroy(pool) } }
        let (modelInputs, modelOutputs) = (model.inputs, model.outputs)
        let outputNames = Set(modelOutputs.map(\.name))
        // The rewriter takes the model (and with it the only other reference to its tensors).
        var rewriter = try GraphRewriter(model: model)
        let rewritten = try rewriter.rewrite()
        var constants = rewriter.constants
        _ = consume rewriter

        guard modelInputs.count == 1, let graphInput = modelInputs.first else {
            throw .invalidGraph("expected exactly one input, found \(modelInputs.map(\.name))")
        }
        guard graphInput.elementType == .float32 else { throw .invalidGraph("input '\(graphInput.name)' must be float32") }
        guard let declared = graphInput.shape, !declared.isEmpty else { throw .invalidGraph("input '\(graphInput.name)' has no shape") }
        var shape: [Int] = []
        for (axis, dim) in declared.enumerated() {
            switch (axis, dim) {
            case (0, nil): shape.append(1)   // symbolic batch
            case (_, let value?) where value > 0: shape.append(value)
            default: throw .invalidGraph("input '\(graphInput.name)' dimension \(axis) is \(dim.map(String.init) ?? "symbolic"); a fixed size is needed")
            }
        }
        inputShape = shape
        inputCount = saturatingProduct(shape)
        guard let graphOutput = modelOutputs.first else { throw .invalidGraph("no outputs") }

        // Lower every node, inferring shapes as we go.
        var descriptors: [String: TensorDescriptor] = [graphInput.name: TensorDescriptor(type: .float32, shape: shape)]
        guard saturatingProduct(shape) <= 1 << 26 else { throw .invalidGraph("input has absurd dimensions \(shape)") }
        for (name, tensor) in constants {
            guard saturatingProduct(tensor.shape.map { max($0, 1) }) <= 1 << 28 else { throw .invalidGraph("constant '\(name)' has absurd shape \(tensor.shape)") }
            descriptors[name] = TensorDescriptor(type: tensor.elementType, shape: tensor.shape)
        }
        // Integer islands run channels-last; a QuantizeLinear feeding one writes that layout directly.
        var islandInputs = Set<String>()
        for node in rewritten where (node.domain.isEmpty && node.opType == "QLinearConv") || (node.domain == "com.microsoft" && node.opType == "QLinearAdd") {
            islandInputs.formUnion(node.inputs)
        }
        // Constants still to be read by lowering, and those a kernel reads at run time (bound below).
        var remainingReaders: [String: Int] = [:]
        for node in rewritten {
            for input in node.inputs where constants[input] != nil { remainingReaders[input, default: 0] += 1 }
        }
        var boundConstants = outputNames
        var planned: [ONNXNode] = []
        var lowered: [LoweredNode] = []
        func lower(_ node: ONNXNode) throws(InferenceError) {
            let inputs = node.inputs.map { $0.isEmpty ? nil : descriptors[$0] }
            let result = try Lowering(node: node, inputs: inputs, constants: constants, pool: pool).lower()
            for (index, input) in node.inputs.enumerated() where constants[input] != nil && (index == 0 || result.readsConstantInputs) {
                boundConstants.insert(input)
            }
            for (index, output) in node.outputs.enumerated() where !output.isEmpty {
                guard index < result.outputs.count else {
                    throw .unsupportedAttribute(op: node.opType, node: node.name, attribute: "output \(index)", value: output)
                }
                guard saturatingProduct(result.outputs[index].shape.map { max($0, 1) }) <= 1 << 28 else {
                    throw .invalidNode(op: node.opType, node: node.name, reason: "output shape \(result.outputs[index].shape) is absurd")
                }
                descriptors[output] = result.outputs[index]
            }
            planned.append(node)
            lowered.append(result)
        }
        for original in rewritten {
            var node = original
            if node.domain.isEmpty, node.opType == "QuantizeLinear", islandInputs.contains(node.outputs[0]) {
                node.attributes["rk_channels_last"] = .int(1)
            }
            // Where this node reads a layout its producer did not write, a byte transpose goes in between.
            for (index, name) in node.inputs.enumerated() where !name.isEmpty {
                guard let descriptor = descriptors[name], descriptor.shape.count == 4, descriptor.type.byteSize == 1,
                      descriptor.shape[2] * descriptor.shape[3] > 1 else { continue }
                let inputs = node.inputs.map { $0.isEmpty ? nil : descriptors[$0] }
                guard let wanted = Lowering(node: node, inputs: inputs, constants: constants).wantsChannelsLast(input: index),
                      wanted != descriptor.channelsLast else { continue }
                let converted = name + (wanted ? "#nhwc" : "#nchw")
                if descriptors[converted] == nil {
                    try lower(ONNXNode(name: "\(node.name)/\(wanted ? "to_nhwc" : "to_nchw")", opType: wanted ? "ToNHWC" : "ToNCHW", domain: "rk",
                                       inputs: [name], outputs: [converted]))
                }
                node.inputs[index] = converted
            }
            try lower(node)
            for input in original.inputs {
                guard let readers = remainingReaders[input] else { continue }
                remainingReaders[input] = readers > 1 ? readers - 1 : nil
                if readers == 1, !boundConstants.contains(input) { constants[input] = nil }
            }
        }
        // Peak memory: each expansion only a depthwise convolution reads is computed a few rows at a time.
        if bandedPairs {
            BandedPair.fuse(nodes: &planned, lowered: &lowered, graphOutputs: outputNames, outputRows: bandOutputRows ?? BandedPair.defaultOutputRows)
        }
        let nodes = planned
        guard let outputDescriptor = descriptors[graphOutput.name], constants[graphOutput.name] == nil else {
            throw .invalidGraph("output '\(graphOutput.name)' is not computed")
        }
        guard outputDescriptor.type == .float32 else { throw .invalidGraph("output '\(graphOutput.name)' is \(outputDescriptor.type), not float32") }
        outputShape = outputDescriptor.shape
        outputCount = outputDescriptor.count
        stepOperators = zip(nodes, lowered).map { $1.detail.isEmpty ? $0.opType : "\($0.opType) \($1.detail)" }
        outputOperator = Self.finalOperator(nodes: nodes, output: graphOutput.name)

        // Lifetimes: a value lives from the step that writes it to the last step that reads it.
        var intervals: [(name: String, bytes: Int, first: Int, last: Int)] = []
        var position: [String: Int] = [:]
        func define(_ name: String, bytes: Int, at step: Int) {
            position[name] = intervals.count
            intervals.append((name, bytes, step, step))
        }
        define(graphInput.name, bytes: descriptors[graphInput.name]!.bytes, at: -1)
        for (step, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty {
                if let index = position[input] { intervals[index].last = step }
            }
            for output in node.outputs where !output.isEmpty {
                define(output, bytes: descriptors[output]!.bytes, at: step)
            }
            if lowered[step].scratchBytes > 0 { define("#scratch\(step)", bytes: lowered[step].scratchBytes, at: step) }
        }
        for output in modelOutputs { if let index = position[output.name] { intervals[index].last = nodes.count } }

        // Each value gets 64 spare bytes: the dot-product kernels read a pixel's channels in fours, so the
        // last pixel of a tensor whose channel count is not a multiple of 4 reads up to 3 bytes past its end.
        func slot(_ bytes: Int) -> Int { aligned(max(bytes, 1)) + 64 }
        // Greedy placement, largest first, at the lowest offset free during the value's lifetime.
        var offsets = [Int](repeating: 0, count: intervals.count)
        var placed: [Int] = []
        var total = 0
        for index in intervals.indices.sorted(by: { intervals[$0].bytes > intervals[$1].bytes }) {
            let value = intervals[index]
            let size = slot(value.bytes)
            var candidate = 0
            let overlapping = placed.filter { intervals[$0].first <= value.last && value.first <= intervals[$0].last }
                .sorted { offsets[$0] < offsets[$1] }
            for other in overlapping {
                if candidate + size <= offsets[other] { break }
                candidate = max(candidate, offsets[other] + slot(intervals[other].bytes))
            }
            offsets[index] = candidate
            placed.append(index)
            total = max(total, candidate + size)
            guard total <= arenaLimit else { throw .arenaLimit(bytes: total, limit: arenaLimit) }
        }
        arenaBytes = total
        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(total, 64), alignment: 64)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(total, 64))
        self.arena = arena

        // Constants read by kernels at run time get fixed copies; kernels that packed their weights at load
        // (convolutions, matrix products) read none, so theirs are not kept twice.
        var storage: [UnsafeMutableRawPointer] = []
        var constantPointers: [String: UnsafeMutableRawPointer] = [:]
        for (step, node) in nodes.enumerated() {
            // Input 0 is the data operand even of those (a constant there is odd, but must still be bound).
            let read = lowered[step].readsConstantInputs ? node.inputs : Array(node.inputs.prefix(1))
            for input in read where constantPointers[input] == nil {
                guard let tensor = constants[input] else { continue }
                let pointer = Self.copy(tensor)
                storage.append(pointer)
                constantPointers[input] = pointer
            }
        }
        constantStorage = storage

        func pointer(_ name: String) -> UnsafeMutableRawPointer? {
            if let constant = constantPointers[name] { return constant }
            guard let index = position[name] else { return nil }
            return arena + offsets[index]
        }
        var steps: [Step] = []
        for (step, node) in nodes.enumerated() {
            let bindings = Bindings(inputs: node.inputs.map { $0.isEmpty ? nil : pointer($0) },
                                    outputs: node.outputs.compactMap { $0.isEmpty ? nil : pointer($0) },
                                    scratch: lowered[step].scratchBytes > 0 ? pointer("#scratch\(step)") : nil)
            steps.append(Step(run: lowered[step].makeKernel(bindings)))
        }
        self.steps = steps
        // The input QuantizeLinear can be left to the preprocessor when it reads the graph input, writes
        // NHWC bytes, and is the input's only reader (the float input is then never needed).
        if let first = nodes.first, first.inputs.first == graphInput.name, let quantization = lowered[0].channelsLastQuantization,
           let index = position[graphInput.name], intervals[index].last == 0, let output = first.outputs.first,
           descriptors[output]?.channelsLast == true, let bytes = pointer(output) {
            inputQuantization = quantization
            quantizedInputPointer = bytes
        } else {
            inputQuantization = nil
            quantizedInputPointer = nil
        }
        inputPointer = pointer(graphInput.name)!.assumingMemoryBound(to: Float.self)
        outputPointer = pointer(graphOutput.name)!.assumingMemoryBound(to: Float.self)
        ready = true
    }

    deinit {
        rk_pool_destroy(pool)
        arena.deallocate()
        for pointer in constantStorage { pointer.deallocate() }
    }

    /// The plan's own input tensor, inside the arena: a caller that fills all of it before every
    /// `run(output:)` (later steps reuse the memory) saves a copy of the input.
    public var inputBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: inputPointer, count: inputCount) }

    /// Runs the model on what `inputBuffer` holds. Allocates nothing.
    public func run(output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        guard output.count == outputCount, let target = output.baseAddress else {
            throw .inputMismatch("output buffer holds \(output.count) values, the model produces \(outputCount)")
        }
        for index in 0..<steps.count { steps[index].run() }
        target.update(from: outputPointer, count: outputCount)
    }

    /// The first step's output when `inputQuantization` is set: `inputCount` bytes, NHWC (channels last),
    /// inside the arena. A caller filling all of it before every `runQuantized(output:)` skips the
    /// input QuantizeLinear.
    public var quantizedInputBuffer: UnsafeMutableRawBufferPointer? {
        quantizedInputPointer.map { UnsafeMutableRawBufferPointer(start: $0, count: inputCount) }
    }

    /// Runs the model on what `quantizedInputBuffer` holds, skipping the input QuantizeLinear: the same
    /// output as `run(output:)` on the float input those bytes quantize. Allocates nothing.
    public func runQuantized(output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        guard inputQuantization != nil else { throw .inputMismatch("the plan's input is not quantized by its first step") }
        guard output.count == outputCount, let target = output.baseAddress else {
            throw .inputMismatch("output buffer holds \(output.count) values, the model produces \(outputCount)")
        }
        for index in 1..<steps.count { steps[index].run() }
        target.update(from: outputPointer, count: outputCount)
    }

    /// Runs the model on `input` (exactly `inputCount` floats, NCHW) and writes `outputCount` floats to `output`.
    /// Allocates nothing.
    public func run(input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) throws(InferenceError) {
        guard input.count == inputCount, let source = input.baseAddress else {
            throw .inputMismatch("expected \(inputCount) values for shape \(inputShape), got \(input.count)")
        }
        guard output.count == outputCount, let target = output.baseAddress else {
            throw .inputMismatch("output buffer holds \(output.count) values, the model produces \(outputCount)")
        }
        inputPointer.update(from: source, count: inputCount)
        for index in 0..<steps.count { steps[index].run() }
        target.update(from: outputPointer, count: outputCount)
    }

    /// Runs `runs` times and returns each step's fastest wall time in milliseconds, with its operator
    /// (profiling; the minimum filters out preemption on a busy machine).
    public func profile(input: [Float], runs: Int = 20) throws(InferenceError) -> [(op: String, milliseconds: Double)] {
        guard input.count == inputCount else { throw .inputMismatch("expected \(inputCount) values, got \(input.count)") }
        var best = [Double](repeating: .infinity, count: steps.count)
        for _ in 0..<max(runs, 1) {
            input.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { inputPointer.update(from: base, count: inputCount) }
            }
            for index in 0..<steps.count {
                let start = ContinuousClock.now
                steps[index].run()
                let elapsed = ContinuousClock.now - start
                best[index] = min(best[index], Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
        }
        return zip(stepOperators, best).map { ($0, $1) }
    }

    /// Convenience form that allocates the output array.
    public func run(input: [Float]) throws(InferenceError) -> [Float] {
        var output = [Float](repeating: 0, count: outputCount)
        try input.withUnsafeBufferPointer { (source) throws(InferenceError) in
            try output.withUnsafeMutableBufferPointer { (target) throws(InferenceError) in
                try run(input: source, output: target)
            }
        }
        return output
    }

    /// The float operator that produces the output, looking through QuantizeLinear/DequantizeLinear and
    /// reshapes (a quantized model ending in Softmax ends in Softmax -> Q -> DQ).
    static func finalOperator(nodes: [ONNXNode], output: String) -> String {
        var value = output
        while let node = nodes.last(where: { $0.outputs.contains(value) }) {
            guard ["QuantizeLinear", "DequantizeLinear", "Identity", "Flatten", "Reshape", "Squeeze"].contains(node.opType),
                  let input = node.inputs.first else { return node.opType }
            value = input
        }
        return ""
    }

    static func copy(_ tensor: ONNXTensor) -> UnsafeMutableRawPointer {
        let bytes = max(tensor.count * tensor.elementType.byteSize, 1)
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        func store<T>(_ values: [T]) {
            values.withUnsafeBytes { raw in
                if let base = raw.baseAddress, raw.count > 0 { pointer.copyMemory(from: base, byteCount: raw.count) }
            }
        }
        switch tensor.values {
        case .float32(let values): store(values)
        case .uint8(let values): store(values)
        case .int8(let values): store(values)
        case .int32(let values): store(values)
        case .int64(let values): store(values)
        }
        return pointer
    }
}

/// What a plan's input QuantizeLinear computes (per tensor, into NHWC bytes):
/// clamp(round_half_even(x / scale) + zeroPoint, range), bytes of int8 when `isSigned`, else uint8.
public struct InputQuantization: Sendable, Equatable {
    public var scale: Float
    public var zeroPoint: Int32
    public var range: ClosedRange<Int32>
    public var isSigned: Bool

    public init(scale: Float, zeroPoint: Int32, range: ClosedRange<Int32>, isSigned: Bool) {
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.range = range
        self.isSigned = isSigned
    }
}

/// Which kernels run: the dot-product fast paths are chosen at run time from the CPU's features.
public enum CInferenceKernelsInfo {
    /// True when this CPU runs fast int8 kernels (AVX-512 VNNI or AVX2 on x86-64, NEON with or without sdot on AArch64).
    public static var fastAvailable: Bool { rk_fast_int8_available() != 0 }
    /// Which int8 kernels run: "avx512-vnni", "avx2", "neon-sdot", "neon" or "portable" (for logs and benchmarks).
    public static var name: String { String(cString: rk_int8_kernels()) }

    /// Runs `body` with only the portable kernels (for tests comparing both paths). Not thread-safe:
    /// the switch is process-wide, so callers serialise.
    public static func withPortableKernels<T>(_ body: () throws -> T) rethrows -> T {
        rk_force_portable(1)
        defer { rk_force_portable(0) }
        return try body()
    }

    /// Which float convolution kernels run: "avx512", "avx2", "neon" or "portable".
    public static var floatName: String { String(cString: rk_float_kernels()) }

    /// Runs `body` with the float kernels named (a value of `floatName`); nil when this CPU cannot run them.
    /// Not thread-safe: the selection is process-wide, so callers serialise.
    public static func withFloatKernels<T>(_ name: String, _ body: () throws -> T) rethrows -> T? {
        guard rk_select_float_kernels(name) != 0 else { return nil }
        defer { rk_select_float_kernels(nil) }
        return try body()
    }
}

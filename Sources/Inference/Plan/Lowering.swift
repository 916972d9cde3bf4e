import CInferenceKernels
import ONNX

/// Type and shape of a value in the plan.
struct TensorDescriptor: Equatable {
    var type: ONNXElementType
    var shape: [Int]
    /// Storage order of a 4-D value: channels-last (NHWC) inside integer islands, NCHW everywhere else.
    /// The shape stays the logical NCHW one either way.
    var channelsLast = false
    /// Element count, saturating at Int.max so absurd shapes are refused by the size checks, not a trap.
    var count: Int { saturatingProduct(shape) }
    var bytes: Int { count.multipliedReportingOverflow(by: type.byteSize).overflow ? Int.max : count * type.byteSize }
}

/// Product of dimensions that saturates at Int.max instead of trapping (shapes come from untrusted models).
func saturatingProduct<C: Collection<Int>>(_ dims: C) -> Int {
    var product = 1
    for dim in dims {
        let (next, overflow) = product.multipliedReportingOverflow(by: dim)
        if overflow || dim < 0 { return Int.max }
        product = next
    }
    return product
}

/// Where a step finds its tensors once the arena is laid out.
struct Bindings {
    var inputs: [UnsafeMutableRawPointer?]
    var outputs: [UnsafeMutableRawPointer]
    var scratch: UnsafeMutableRawPointer?
}

/// One step of the plan: a kernel closure over fixed pointers; calling it allocates nothing.
typealias Kernel = () -> Void

/// A node after checking: output descriptors, scratch it needs, and how to make its kernel.
struct LoweredNode {
    var outputs: [TensorDescriptor]
    var scratchBytes: Int = 0
    /// Short description for profiles (kernel shape, channels).
    var detail: String = ""
    /// False for kernels that copied what they need from their constant inputs at load (weights, biases);
    /// those inputs, except input 0, are then not bound (their binding is nil).
    var readsConstantInputs = true
    /// Set by a per-tensor QuantizeLinear writing channels-last bytes: what it computes, so a plan whose
    /// first step it is can let the preprocessor write those bytes instead (`ExecutionPlan.inputQuantization`).
    var channelsLastQuantization: InputQuantization? = nil
    /// Set by the integer convolutions the planner may run band by band as a pair (`BandedPair`).
    var banding: Banding? = nil
    var makeKernel: (Bindings) -> Kernel
}

/// The two halves of a pair the planner can run band by band (pointwise expansion, then depthwise).
enum Banding {
    case pointwise(PointwiseKernel)
    case depthwise(DepthwiseKernel)
}

/// Checks one node against its input descriptors, infers its output shapes and prepares its kernel.
/// Everything about the node is validated here, once; the kernels trust what was checked.
struct Lowering {
    let node: ONNXNode
    let inputs: [TensorDescriptor?]
    let constants: [String: ONNXTensor]
    /// Worker threads for the big kernels (`inference.threads`); nil runs everything on the caller's thread.
    var pool: OpaquePointer? = nil
    var threads: Int { Int(rk_pool_threads(pool)) }

    func fail(_ reason: String) -> InferenceError { .invalidNode(op: node.opType, node: node.name, reason: reason) }

    func unsupported(_ attribute: String, _ value: String) -> InferenceError {
        .unsupportedAttribute(op: node.opType, node: node.name, attribute: attribute, value: value)
    }

    /// Rejects attributes this runtime does not interpret, so nothing is silently ignored.
    func allow(_ names: Set<String>) throws(InferenceError) {
        for (name, value) in node.attributes where !names.contains(name) && !name.hasPrefix("rk_") {
            throw unsupported(name, "\(value)")
        }
    }

    func int(_ name: String, _ fallback: Int) throws(InferenceError) -> Int {
        switch node.attributes[name] {
        case nil: return fallback
        case .int(let value)?:
            guard let result = Int(exactly: value), abs(result) < 1 << 30 else { throw unsupported(name, "\(value)") }
            return result
        case let other?: throw unsupported(name, "\(other)")
        }
    }

    func float(_ name: String, _ fallback: Float) throws(InferenceError) -> Float {
        switch node.attributes[name] {
        case nil: return fallback
        case .float(let value)?: return value
        case let other?: throw unsupported(name, "\(other)")
        }
    }

    func ints(_ name: String) throws(InferenceError) -> [Int]? {
        switch node.attributes[name] {
        case nil: return nil
        case .ints(let values)?:
            var result: [Int] = []
            for value in values {
                guard abs(value) < 1 << 30 else { throw unsupported(name, "\(values)") }
                result.append(Int(value))
            }
            return result
        case let other?: throw unsupported(name, "\(other)")
        }
    }

    func string(_ name: String, _ fallback: String) throws(InferenceError) -> String {
        switch node.attributes[name] {
        case nil: return fallback
        case .string(let value)?: return value
        case let other?: throw unsupported(name, "\(other)")
        }
    }

    /// The descriptor of input `index`; missing required inputs are an error.
    func input(_ index: Int) throws(InferenceError) -> TensorDescriptor {
        guard index < inputs.count, let descriptor = inputs[index] else { throw fail("input \(index) is missing") }
        return descriptor
    }

    func constant(_ index: Int) -> ONNXTensor? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        return constants[node.inputs[index]]
    }

    func normalise(axis: Int, rank: Int) throws(InferenceError) -> Int {
        let value = axis < 0 ? axis + rank : axis
        guard value >= 0, value < max(rank, 1) else { throw fail("axis \(axis) out of range for rank \(rank)") }
        return value
    }

    func expectFloat(_ descriptor: TensorDescriptor) throws(InferenceError) {
        guard descriptor.type == .float32 else { throw fail("expects float32 input, got \(descriptor.type)") }
    }

    // MARK: - Dispatch

    func lower() throws(InferenceError) -> LoweredNode {
        switch (node.domain, node.opType) {
        case ("", "Conv"): return try lowerConv()
        case ("", "QLinearConv"): return try lowerQLinearConv()
        case ("com.microsoft", "QLinearAdd"): return try lowerQLinearAdd()
        case ("rk", "ToNHWC"), ("rk", "ToNCHW"): return try lowerLayoutConversion()
        case ("com.microsoft", "QGemm"): return try lowerQGemm()
        case ("", "Gemm"), ("", "MatMul"): return try lowerGemm()
        case ("", "Relu"), ("", "Clip"), ("", "LeakyRelu"), ("", "HardSigmoid"), ("", "HardSwish"), ("", "Sigmoid"):
            return try lowerUnary()
        case ("", "Add"), ("", "Mul"), ("", "Sub"), ("", "Div"): return try lowerBinary()
        case ("", "Concat"): return try lowerConcat()
        case ("", "GlobalAveragePool"): return try lowerGlobalAveragePool()
        case ("", "AveragePool"), ("", "MaxPool"): return try lowerPool()
        case ("", "Flatten"), ("", "Reshape"), ("", "Squeeze"), ("", "Unsqueeze"), ("", "Identity"), ("", "Dropout"):
            return try lowerReshape()
        case ("", "Transpose"): return try lowerTranspose()
        case ("", "Softmax"): return try lowerSoftmax()
        case ("", "BatchNormalization"): return try lowerBatchNormalization()
        case ("", "QuantizeLinear"): return try lowerQuantize()
        case ("", "DequantizeLinear"): return try lowerDequantize()
        default: throw .unsupportedOperator(op: node.opType, domain: node.domain, node: node.name)
        }
    }
}

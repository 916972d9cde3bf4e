import ONNX

/// Rewrites an ONNX graph into the form the planner executes, once at load:
/// - nodes relying on an operator change (since opset 13) the runtime does not implement are refused
///   (OperatorHistory);
/// - topological order (cycles and undefined values are errors);
/// - QOperator ops without a dedicated kernel (QLinearAdd, QLinearMul, QLinearAveragePool,
///   QLinearGlobalAveragePool, QLinearConcat, QLinearLeakyRelu, QLinearSigmoid, QLinearSoftmax)
///   become DequantizeLinear -> float op -> QuantizeLinear, which is what they compute;
/// - DequantizeLinear -> Conv/Gemm/MatMul (-> Relu/Clip) -> QuantizeLinear islands become one
///   integer node (QLinearConv or a QGemm), the same node QOperator models carry; so do residual
///   DequantizeLinear x2 -> Add (-> Relu/Clip) -> QuantizeLinear (QLinearAdd, QOperator ones included);
/// - DequantizeLinear of constants is folded; BatchNormalization folds into the preceding float Conv,
///   Relu/Clip into the preceding Conv's clamp; nodes nothing reads are dropped.
struct GraphRewriter {
    var nodes: [ONNXNode]
    var constants: [String: ONNXTensor]
    let graphInputs: Set<String>
    let graphOutputs: [String]
    private var counter = 0

    init(model: ONNXModel) throws(InferenceError) {
        constants = model.initializers
        graphInputs = Set(model.inputs.map(\.name))
        graphOutputs = model.outputs.map(\.name)
        nodes = []
        for node in model.nodes {
            // Arity the rewrites rely on; each operator's full check comes later, in Lowering.
            let minimumInputs = ["QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "MatMul", "BatchNormalization", "Add", "Mul",
                                 "QLinearConv", "QGemm", "QLinearMatMul"].contains(node.opType) ? 2 : 1
            guard !node.outputs.isEmpty, !node.outputs[0].isEmpty, node.opType == "Constant" || node.inputs.count >= minimumInputs,
                  node.opType == "Constant" || !node.inputs[0].isEmpty else {
                throw .invalidNode(op: node.opType, node: node.name, reason: "needs at least \(minimumInputs) input(s) and an output")
            }
            if node.opType == "Constant" && node.domain.isEmpty {
                guard let output = node.outputs.first else { throw .invalidNode(op: "Constant", node: node.name, reason: "no output") }
                constants[output] = try Self.constantValue(node, name: output)
            } else {
                nodes.append(node)
            }
        }
        // After the loop: a zero point may come from a Constant node anywhere in the file.
        for node in nodes {
            try OperatorHistory.check(node, opset: model.opsetVersion, constants: constants)
        }
    }

    /// Runs every rewrite in order and returns the nodes in execution order.
    mutating func rewrite() throws(InferenceError) -> [ONNXNode] {
        try sortTopologically()
        try expandQOperators()
        try fuseIntegerIslands()
        removeDeadNodes()
        try foldConstantDequantize()
        try foldBatchNormalization()
        fuseFloatActivations()
        removeDeadNodes()
        return nodes
    }

    // MARK: - Order

    mutating func sortTopologically() throws(InferenceError) {
        var available = graphInputs.union(constants.keys)
        available.insert("")
        var remaining = nodes
        var sorted: [ONNXNode] = []
        sorted.reserveCapacity(nodes.count)
        while !remaining.isEmpty {
            var next: [ONNXNode] = []
            var progressed = false
            for node in remaining {
                if node.inputs.allSatisfy(available.contains) {
                    sorted.append(node)
                    for output in node.outputs where !output.isEmpty {
                        guard !available.contains(output) else {
                            throw .invalidGraph("value '\(output)' is produced twice (node '\(node.name)')")
                        }
                        available.insert(output)
                    }
                    progressed = true
                } else {
                    next.append(node)
                }
            }
            guard progressed else {
                let node = remaining[0]
                let missing = node.inputs.first { !available.contains($0) } ?? "?"
                throw .invalidGraph("node '\(node.name)' reads '\(missing)', which nothing produces (or the graph has a cycle)")
            }
            remaining = next
        }
        for output in graphOutputs where !available.contains(output) {
            throw .invalidGraph("graph output '\(output)' is never produced")
        }
        nodes = sorted
    }

    // MARK: - QOperator expansion

    private mutating func fresh(_ base: String) -> String {
        counter += 1
        return "\(base)__rk\(counter)"
    }

    mutating func expandQOperators() throws(InferenceError) {
        var result: [ONNXNode] = []
        for node in nodes {
            let floatOp: String
            var quantizedInputs: [(value: Int, scale: Int, zero: Int)]
            let outputScale: Int, outputZero: Int
            switch node.opType {
            case "QLinearAdd", "QLinearMul":
                floatOp = node.opType == "QLinearAdd" ? "Add" : "Mul"
                quantizedInputs = [(0, 1, 2), (3, 4, 5)]
                (outputScale, outputZero) = (6, 7)
            case "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu", "QLinearSigmoid", "QLinearSoftmax":
                floatOp = String(node.opType.dropFirst("QLinear".count))
                quantizedInputs = [(0, 1, 2)]
                (outputScale, outputZero) = (3, 4)
            case "QLinearConcat":
                floatOp = "Concat"
                guard node.inputs.count >= 5, (node.inputs.count - 2) % 3 == 0 else {
                    throw .invalidNode(op: node.opType, node: node.name, reason: "expected Y_scale, Y_zero_point and triples of inputs")
                }
                quantizedInputs = stride(from: 2, to: node.inputs.count, by: 3).map { ($0, $0 + 1, $0 + 2) }
                (outputScale, outputZero) = (0, 1)
            default:
                result.append(node)
                continue
            }
            guard node.domain == "com.microsoft" || node.domain.isEmpty else {
                throw .unsupportedOperator(op: node.opType, domain: node.domain, node: node.name)
            }
            if case .int(let channelsLast)? = node.attributes["channels_last"], channelsLast != 0 {
                throw .unsupportedAttribute(op: node.opType, node: node.name, attribute: "channels_last", value: "\(channelsLast)")
            }
            let needed = max(outputZero, quantizedInputs.map(\.zero).max() ?? 0)
            guard node.inputs.count > needed, node.outputs.count == 1 else {
                throw .invalidNode(op: node.opType, node: node.name, reason: "expected at least \(needed + 1) inputs and one output")
            }
            var floatInputs: [String] = []
            for triple in quantizedInputs {
                let dequantized = fresh(node.inputs[triple.value])
                result.append(ONNXNode(name: "\(node.name)/dequantize\(floatInputs.count)", opType: "DequantizeLinear",
                                       inputs: [node.inputs[triple.value], node.inputs[triple.scale], node.inputs[triple.zero]],
                                       outputs: [dequantized]))
                floatInputs.append(dequantized)
            }
            var attributes = node.attributes
            attributes["channels_last"] = nil
            if floatOp == "Softmax" {
                if case .int(let opset)? = attributes["opset"], opset < 13 {
                    // Before opset 13 Softmax coerced the input to 2-D at `axis`; equal to opset 13 only for the last axis.
                    if case .int(let axis)? = attributes["axis"], axis != -1 {
                        throw .unsupportedAttribute(op: node.opType, node: node.name, attribute: "axis", value: "\(axis) with opset \(opset)")
                    }
                }
                attributes["opset"] = nil
            }
            let floatOutput = fresh(node.outputs[0])
            result.append(ONNXNode(name: "\(node.name)/\(floatOp)", opType: floatOp, inputs: floatInputs, outputs: [floatOutput],
                                   attributes: attributes))
            result.append(ONNXNode(name: "\(node.name)/quantize", opType: "QuantizeLinear",
                                   inputs: [floatOutput, node.inputs[outputScale], node.inputs[outputZero]], outputs: node.outputs))
        }
        nodes = result
    }

    // MARK: - Integer islands

    private func consumers(of value: String) -> [Int] {
        nodes.indices.filter { nodes[$0].inputs.contains(value) }
    }

    private func producer(of value: String) -> Int? {
        nodes.firstIndex { $0.outputs.contains(value) }
    }

    /// The DequantizeLinear node producing `value`, if any.
    private func dequantizer(of value: String) -> ONNXNode? {
        guard let index = producer(of: value), nodes[index].opType == "DequantizeLinear", nodes[index].domain.isEmpty else { return nil }
        return nodes[index]
    }

    private func isConstant(_ value: String) -> Bool { constants[value] != nil }

    /// The DequantizeLinear of a computed (not constant) value, quantized per tensor, if `value` is one.
    private func activationDequantizer(of value: String) -> ONNXNode? {
        guard let node = dequantizer(of: value), !isConstant(node.inputs[0]), node.inputs.count >= 2,
              isScalarConstant(node.inputs[1]), node.inputs.count < 3 || node.inputs[2].isEmpty || isScalarConstant(node.inputs[2])
        else { return nil }
        return node
    }

    private func isScalarConstant(_ value: String) -> Bool { constants[value].map { $0.count == 1 } ?? false }

    /// Single consumer of a node's output that is not also a graph output.
    private func soleConsumer(of value: String) -> Int? {
        guard !graphOutputs.contains(value) else { return nil }
        let list = consumers(of: value)
        return list.count == 1 ? list[0] : nil
    }

    /// Finds `op -> [Relu|Clip] -> QuantizeLinear` after the node at `index`; returns the quantizer and the activation.
    private func quantizingTail(after index: Int) -> (quantize: ONNXNode, activation: ONNXNode?, last: Int)? {
        guard let next = soleConsumer(of: nodes[index].outputs[0]) else { return nil }
        var candidate = nodes[next]
        var activation: ONNXNode?
        var last = next
        if candidate.domain.isEmpty, candidate.opType == "Relu" || candidate.opType == "Clip" {
            guard candidate.inputs.dropFirst().allSatisfy({ $0.isEmpty || isConstant($0) }),
                  let after = soleConsumer(of: candidate.outputs[0]) else { return nil }
            activation = candidate
            candidate = nodes[after]
            last = after
        }
        guard candidate.opType == "QuantizeLinear", candidate.domain.isEmpty, candidate.inputs.count >= 2,
              isScalarConstant(candidate.inputs[1]), candidate.inputs.count < 3 || isScalarConstant(candidate.inputs[2])
        else { return nil }
        return (candidate, activation, last)
    }

    mutating func fuseIntegerIslands() throws(InferenceError) {
        var index = 0
        while index < nodes.count {
            let node = nodes[index]
            if node.domain.isEmpty, ["Conv", "Gemm", "MatMul"].contains(node.opType), node.inputs.count >= 2,
               let input = dequantizer(of: node.inputs[0]), !isConstant(input.inputs[0]), input.inputs.count >= 2,
               isScalarConstant(input.inputs[1]), input.inputs.count < 3 || isScalarConstant(input.inputs[2]),
               let weight = dequantizer(of: node.inputs[1]), weight.inputs.allSatisfy({ $0.isEmpty || isConstant($0) }),
               constants[weight.inputs[0]].map({ $0.elementType == .int8 || $0.elementType == .uint8 }) ?? false {
                let tail = quantizingTail(after: index)
                if node.opType == "Conv" && tail == nil {
                    index += 1
                    continue
                }
                var bias = ""
                if node.inputs.count > 2, !node.inputs[2].isEmpty {
                    bias = try integerBias(node.inputs[2], input: input, weight: weight, node: node)
                }
                var inputs = [input.inputs[0], input.inputs[1], input.inputs.count > 2 ? input.inputs[2] : "",
                              weight.inputs[0], weight.inputs[1], weight.inputs.count > 2 ? weight.inputs[2] : ""]
                var attributes = node.attributes
                if let activation = tail?.activation {
                    attributes["rk_activation"] = .string(activation.opType)
                    if activation.opType == "Clip" {
                        let low = activation.inputs.count > 1 && !activation.inputs[1].isEmpty ? constants[activation.inputs[1]]?.floats.first : nil
                        let high = activation.inputs.count > 2 && !activation.inputs[2].isEmpty ? constants[activation.inputs[2]]?.floats.first : nil
                        attributes["rk_clip"] = .floats([low ?? -.infinity, high ?? .infinity])
                    }
                }
                if let weightAxis = weight.attributes["axis"] { attributes["rk_weight_axis"] = weightAxis }
                let outputs: [String]
                let fused: ONNXNode
                if node.opType == "Conv" {
                    guard let tail else { index += 1; continue }
                    inputs += [tail.quantize.inputs[1], tail.quantize.inputs.count > 2 ? tail.quantize.inputs[2] : "", bias]
                    outputs = tail.quantize.outputs
                    fused = ONNXNode(name: node.name, opType: "QLinearConv", inputs: inputs, outputs: outputs, attributes: attributes)
                } else {
                    inputs.append(bias)
                    if let tail {
                        inputs += [tail.quantize.inputs[1], tail.quantize.inputs.count > 2 ? tail.quantize.inputs[2] : ""]
                        outputs = tail.quantize.outputs
                    } else {
                        outputs = node.outputs
                    }
                    attributes["rk_matmul"] = .int(node.opType == "MatMul" ? 1 : 0)
                    fused = ONNXNode(name: node.name, opType: "QGemm", domain: "com.microsoft", inputs: inputs, outputs: outputs,
                                     attributes: attributes)
                }
                nodes[index] = fused
                if let tail {
                    // The activation and quantizer are now inside the fused node.
                    var remove = [tail.last]
                    if tail.activation != nil, let activationIndex = producer(of: tail.quantize.inputs[0]) { remove.append(activationIndex) }
                    for position in remove.sorted(by: >) where position != index { nodes.remove(at: position) }
                }
            } else if node.domain.isEmpty, node.opType == "Add", node.inputs.count == 2,
                      let a = activationDequantizer(of: node.inputs[0]), let b = activationDequantizer(of: node.inputs[1]),
                      let tail = quantizingTail(after: index) {
                // Residual additions: DequantizeLinear x2 -> Add (-> Relu|Clip) -> QuantizeLinear computed on the
                // quantized values directly (com.microsoft QLinearAdd, as onnxruntime's QDQ transformer does).
                var attributes: [String: ONNXAttribute] = [:]
                if let activation = tail.activation {
                    attributes["rk_activation"] = .string(activation.opType)
                    if activation.opType == "Clip" {
                        let low = activation.inputs.count > 1 && !activation.inputs[1].isEmpty ? constants[activation.inputs[1]]?.floats.first : nil
                        let high = activation.inputs.count > 2 && !activation.inputs[2].isEmpty ? constants[activation.inputs[2]]?.floats.first : nil
                        attributes["rk_clip"] = .floats([low ?? -.infinity, high ?? .infinity])
                    }
                }
                func operand(_ dequantize: ONNXNode) -> [String] {
                    [dequantize.inputs[0], dequantize.inputs[1], dequantize.inputs.count > 2 ? dequantize.inputs[2] : ""]
                }
                let inputs = operand(a) + operand(b) + [tail.quantize.inputs[1], tail.quantize.inputs.count > 2 ? tail.quantize.inputs[2] : ""]
                nodes[index] = ONNXNode(name: node.name, opType: "QLinearAdd", domain: "com.microsoft", inputs: inputs,
                                        outputs: tail.quantize.outputs, attributes: attributes)
                var remove = [tail.last]
                if tail.activation != nil, let activationIndex = producer(of: tail.quantize.inputs[0]) { remove.append(activationIndex) }
                for position in remove.sorted(by: >) where position != index { nodes.remove(at: position) }
            } else if node.opType == "QLinearMatMul", node.domain.isEmpty {
                guard node.inputs.count == 8 else { throw .invalidNode(op: node.opType, node: node.name, reason: "expected 8 inputs") }
                var attributes = node.attributes
                attributes["rk_matmul"] = .int(1)
                nodes[index] = ONNXNode(name: node.name, opType: "QGemm", domain: "com.microsoft",
                                        inputs: Array(node.inputs[0..<6]) + ["", node.inputs[6], node.inputs[7]],
                                        outputs: node.outputs, attributes: attributes)
            }
            index += 1
        }
    }

    /// Turns a float or dequantized bias into an int32 constant on the accumulator's scale
    /// (input scale x weight scale per channel), as QLinearConv expects.
    private mutating func integerBias(_ name: String, input: ONNXNode, weight: ONNXNode, node: ONNXNode) throws(InferenceError) -> String {
        let floats: [Float]
        if let tensor = constants[name] {
            floats = tensor.floats
        } else if let dq = dequantizer(of: name), dq.inputs.allSatisfy({ $0.isEmpty || isConstant($0) }) {
            floats = try Self.dequantize(dq, constants: constants).floats
        } else {
            throw .invalidNode(op: node.opType, node: node.name, reason: "bias '\(name)' is not a constant")
        }
        guard let inputScale = constants[input.inputs[1]]?.floats.first,
              let weightScales = constants[weight.inputs[1]]?.floats, !weightScales.isEmpty else {
            throw .invalidNode(op: node.opType, node: node.name, reason: "quantization scales are not constants")
        }
        guard weightScales.count == 1 || weightScales.count == floats.count else {
            throw .invalidNode(op: node.opType, node: node.name, reason: "\(weightScales.count) weight scales for \(floats.count) bias values")
        }
        var values: [Int32] = []
        for (channel, value) in floats.enumerated() {
            let scale = inputScale * weightScales[weightScales.count == 1 ? 0 : channel]
            guard scale > 0, scale.isFinite else { throw .invalidNode(op: node.opType, node: node.name, reason: "scale \(scale) is not positive") }
            let quantized = (value / scale).rounded(.toNearestOrEven)
            guard let exact = Int32(exactly: quantized) else {
                throw .invalidNode(op: node.opType, node: node.name, reason: "bias \(value) does not fit int32 at scale \(scale)")
            }
            values.append(exact)
        }
        let constantName = fresh(name + "_int32")
        constants[constantName] = ONNXTensor(name: constantName, shape: [values.count], values: .int32(values))
        return constantName
    }

    // MARK: - Constants, batch normalization, activations

    mutating func removeDeadNodes() {
        var live = Set(graphOutputs)
        var kept: [ONNXNode] = []
        for node in nodes.reversed() where node.outputs.contains(where: live.contains) {
            kept.append(node)
            live.formUnion(node.inputs)
        }
        nodes = kept.reversed()
    }

    mutating func foldConstantDequantize() throws(InferenceError) {
        var kept: [ONNXNode] = []
        for node in nodes {
            if node.domain.isEmpty, node.opType == "DequantizeLinear" || node.opType == "Identity",
               !node.inputs.isEmpty, node.inputs.allSatisfy({ $0.isEmpty || isConstant($0) }), !graphOutputs.contains(node.outputs[0]) {
                let value = node.opType == "Identity" ? constants[node.inputs[0]]! : try Self.dequantize(node, constants: constants)
                constants[node.outputs[0]] = ONNXTensor(name: node.outputs[0], shape: value.shape, values: value.values)
            } else {
                kept.append(node)
            }
        }
        nodes = kept
    }

    mutating func foldBatchNormalization() throws(InferenceError) {
        var index = 0
        while index < nodes.count {
            let node = nodes[index]
            guard node.domain.isEmpty, node.opType == "BatchNormalization", node.inputs.count == 5,
                  node.inputs[1...].allSatisfy(isConstant),
                  let convIndex = producer(of: node.inputs[0]), nodes[convIndex].opType == "Conv", nodes[convIndex].domain.isEmpty,
                  nodes[convIndex].inputs.count >= 2, soleConsumer(of: node.inputs[0]) == index,
                  let weight = constants[nodes[convIndex].inputs[1]], weight.elementType == .float32, weight.shape.count == 4
            else { index += 1; continue }
            let conv = nodes[convIndex]
            let scale = constants[node.inputs[1]]!.floats, shift = constants[node.inputs[2]]!.floats
            let mean = constants[node.inputs[3]]!.floats, variance = constants[node.inputs[4]]!.floats
            let channels = weight.shape[0]
            guard [scale, shift, mean, variance].allSatisfy({ $0.count == channels }) else {
                throw .invalidNode(op: node.opType, node: node.name, reason: "parameters do not have \(channels) channels")
            }
            var epsilon: Float = 1e-5
            if case .float(let value)? = node.attributes["epsilon"] { epsilon = value }
            var bias = [Float](repeating: 0, count: channels)
            if conv.inputs.count > 2, !conv.inputs[2].isEmpty {
                guard let tensor = constants[conv.inputs[2]], tensor.count == channels else { index += 1; continue }
                bias = tensor.floats
            }
            var weights = weight.floats
            let perChannel = weights.count / max(channels, 1)
            for channel in 0..<channels {
                let factor = scale[channel] / (variance[channel] + epsilon).squareRoot()
                for offset in 0..<perChannel { weights[channel * perChannel + offset] *= factor }
                bias[channel] = (bias[channel] - mean[channel]) * factor + shift[channel]
            }
            let weightName = fresh(conv.inputs[1]), biasName = fresh(conv.inputs[1] + "_bias")
            constants[weightName] = ONNXTensor(name: weightName, shape: weight.shape, values: .float32(weights))
            constants[biasName] = ONNXTensor(name: biasName, shape: [channels], values: .float32(bias))
            var folded = conv
            folded.inputs = [conv.inputs[0], weightName, biasName]
            folded.outputs = [node.outputs[0]]
            nodes[convIndex] = folded
            nodes.remove(at: index)
        }
    }

    mutating func fuseFloatActivations() {
        var index = 0
        while index < nodes.count {
            let node = nodes[index]
            if node.domain.isEmpty, node.opType == "Relu" || node.opType == "Clip",
               node.inputs.dropFirst().allSatisfy({ $0.isEmpty || isConstant($0) }),
               let convIndex = producer(of: node.inputs[0]), nodes[convIndex].opType == "Conv", nodes[convIndex].domain.isEmpty,
               nodes[convIndex].attributes["rk_activation"] == nil, soleConsumer(of: node.inputs[0]) == index {
                var conv = nodes[convIndex]
                conv.attributes["rk_activation"] = .string(node.opType)
                if node.opType == "Clip" {
                    let low = node.inputs.count > 1 && !node.inputs[1].isEmpty ? constants[node.inputs[1]]?.floats.first : nil
                    let high = node.inputs.count > 2 && !node.inputs[2].isEmpty ? constants[node.inputs[2]]?.floats.first : nil
                    conv.attributes["rk_clip"] = .floats([low ?? -.infinity, high ?? .infinity])
                }
                conv.outputs = node.outputs
                nodes[convIndex] = conv
                nodes.remove(at: index)
            } else {
                index += 1
            }
        }
    }

    // MARK: - Constant evaluation

    static func dequantize(_ node: ONNXNode, constants: [String: ONNXTensor]) throws(InferenceError) -> ONNXTensor {
        guard let x = constants[node.inputs[0]], node.inputs.count >= 2, let scale = constants[node.inputs[1]] else {
            throw .invalidNode(op: node.opType, node: node.name, reason: "inputs are not constants")
        }
        let zero = node.inputs.count > 2 && !node.inputs[2].isEmpty ? constants[node.inputs[2]] : nil
        let parameters = try QuantizationParameters(scale: scale, zeroPoint: zero, axisAttribute: node.attributes["axis"],
                                                    shape: x.shape, node: node)
        let values = x.floats
        var out = [Float](repeating: 0, count: values.count)
        let inner = parameters.inner(shape: x.shape)
        for index in values.indices {
            let channel = parameters.channelCount == 1 ? 0 : (index / inner) % parameters.channelCount
            out[index] = (values[index] - Float(parameters.zeroPoints[channel])) * parameters.scales[channel]
        }
        return ONNXTensor(name: node.outputs[0], shape: x.shape, values: .float32(out))
    }

    static func constantValue(_ node: ONNXNode, name: String) throws(InferenceError) -> ONNXTensor {
        switch (node.attributes["value"], node.attributes["value_float"], node.attributes["value_floats"],
                node.attributes["value_int"], node.attributes["value_ints"]) {
        case (.tensor(let tensor)?, _, _, _, _): return ONNXTensor(name: name, shape: tensor.shape, values: tensor.values)
        case (_, .float(let value)?, _, _, _): return ONNXTensor(name: name, shape: [], values: .float32([value]))
        case (_, _, .floats(let values)?, _, _): return ONNXTensor(name: name, shape: [values.count], values: .float32(values))
        case (_, _, _, .int(let value)?, _): return ONNXTensor(name: name, shape: [], values: .int64([value]))
        case (_, _, _, _, .ints(let values)?): return ONNXTensor(name: name, shape: [values.count], values: .int64(values))
        default:
            throw .unsupportedAttribute(op: "Constant", node: node.name, attribute: node.attributes.keys.sorted().joined(separator: ","),
                                        value: "(sparse or string constant)")
        }
    }
}

import CInferenceKernels
import Foundation
import ONNX

extension Lowering {
    func lowerUnary() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        try expectFloat(x)
        let count = x.count
        let function: (Float) -> Float
        switch node.opType {
        case "Relu":
            try allow([])
            function = { max($0, 0) }
        case "Clip":
            try allow([])
            var bounds: [Float] = [-.infinity, .infinity]
            for index in 1..<min(node.inputs.count, 3) where !node.inputs[index].isEmpty {
                guard let tensor = constant(index), tensor.count == 1, tensor.elementType == .float32 else {
                    throw fail("min and max must be float32 scalar constants")
                }
                bounds[index - 1] = tensor.floats[0]
            }
            let (lo, hi) = (bounds[0], bounds[1])
            function = { min(max($0, lo), hi) }
        case "LeakyRelu":
            try allow(["alpha"])
            let alpha = try float("alpha", 0.01)
            function = { $0 >= 0 ? $0 : $0 * alpha }
        case "HardSigmoid":
            try allow(["alpha", "beta"])
            let alpha = try float("alpha", 0.2), beta = try float("beta", 0.5)
            function = { max(0, min(1, alpha * $0 + beta)) }
        case "HardSwish":
            try allow([])
            function = { $0 * max(0, min(1, $0 / 6 + 0.5)) }
        default:
            try allow([])
            function = { 1 / (1 + Foundation.exp(-$0)) }
        }
        return LoweredNode(outputs: [x]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                for index in 0..<count { out[index] = function(input[index]) }
            }
        }
    }

    /// Numpy-style broadcasting of two shapes: the result shape and each operand's element strides in it
    /// (0 along broadcast axes).
    func broadcast(_ a: [Int], _ b: [Int]) throws(InferenceError) -> (shape: [Int], aStrides: [Int], bStrides: [Int]) {
        let rank = max(a.count, b.count)
        let aShape = [Int](repeating: 1, count: rank - a.count) + a
        let bShape = [Int](repeating: 1, count: rank - b.count) + b
        var shape: [Int] = []
        for (x, y) in zip(aShape, bShape) {
            guard x == y || x == 1 || y == 1 else { throw fail("shapes \(a) and \(b) do not broadcast") }
            shape.append(x == 1 ? y : x)
        }
        func strides(_ dims: [Int]) -> [Int] {
            var result = [Int](repeating: 0, count: rank), step = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                result[axis] = dims[axis] == 1 ? 0 : step
                step *= dims[axis]
            }
            return result
        }
        return (shape, strides(aShape), strides(bShape))
    }

    func lowerBinary() throws(InferenceError) -> LoweredNode {
        try allow([])
        let a = try input(0), b = try input(1)
        try expectFloat(a)
        try expectFloat(b)
        let (shape, aStrides, bStrides) = try broadcast(a.shape, b.shape)
        let output = TensorDescriptor(type: .float32, shape: shape)
        let count = output.count, inner = shape.last ?? 1
        let aInner = aStrides.last ?? 0, bInner = bStrides.last ?? 0
        let outerShape = Array(shape.dropLast())
        let function: (Float, Float) -> Float
        switch node.opType {
        case "Add": function = { $0 + $1 }
        case "Mul": function = { $0 * $1 }
        case "Sub": function = { $0 - $1 }
        default: function = { $0 / $1 }
        }
        return LoweredNode(outputs: [output]) { bindings in
            let x = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let y = bindings.inputs[1]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                guard inner > 0 else { return }
                var outer = 0
                while outer * inner < count {
                    // Offsets of this row in a and b, from the row's multi-index.
                    var remainder = outer, xOffset = 0, yOffset = 0
                    for axis in stride(from: outerShape.count - 1, through: 0, by: -1) {
                        let index = remainder % outerShape[axis]
                        remainder /= outerShape[axis]
                        xOffset += index * aStrides[axis]
                        yOffset += index * bStrides[axis]
                    }
                    let row = out + outer * inner
                    for index in 0..<inner { row[index] = function(x[xOffset + index * aInner], y[yOffset + index * bInner]) }
                    outer += 1
                }
            }
        }
    }

    func lowerSoftmax() throws(InferenceError) -> LoweredNode {
        try allow(["axis"])
        let x = try input(0)
        try expectFloat(x)
        let axis = try normalise(axis: try int("axis", -1), rank: x.shape.count)
        let outer = x.shape[..<axis].reduce(1, *), length = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        return LoweredNode(outputs: [x]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * length * inner + i
                        var largest = -Float.infinity
                        for j in 0..<length { largest = max(largest, input[base + j * inner]) }
                        var sum: Float = 0
                        for j in 0..<length {
                            let e = Foundation.exp(input[base + j * inner] - largest)
                            out[base + j * inner] = e
                            sum += e
                        }
                        for j in 0..<length { out[base + j * inner] /= sum }
                    }
                }
            }
        }
    }

    func lowerBatchNormalization() throws(InferenceError) -> LoweredNode {
        try allow(["epsilon", "momentum", "training_mode"])
        guard try int("training_mode", 0) == 0 else { throw unsupported("training_mode", "1") }
        let x = try input(0)
        try expectFloat(x)
        guard x.shape.count >= 2 else { throw fail("input must have a channel axis") }
        let channels = x.shape[1], inner = x.shape[2...].reduce(1, *), outer = x.shape[0]
        var parameters: [[Float]] = []
        for index in 1...4 {
            guard let tensor = constant(index), tensor.count == channels else { throw fail("parameter \(index) must be a constant of \(channels) values") }
            parameters.append(tensor.floats)
        }
        let epsilon = try float("epsilon", 1e-5)
        let scale = (0..<channels).map { parameters[0][$0] / (parameters[3][$0] + epsilon).squareRoot() }
        let shift = (0..<channels).map { parameters[1][$0] - parameters[2][$0] * scale[$0] }
        return LoweredNode(outputs: [x]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                for n in 0..<outer {
                    for c in 0..<channels {
                        let base = (n * channels + c) * inner, s = scale[c], t = shift[c]
                        for i in 0..<inner { out[base + i] = input[base + i] * s + t }
                    }
                }
            }
        }
    }

    func lowerQuantize() throws(InferenceError) -> LoweredNode {
        try allow(["axis", "saturate", "block_size", "output_dtype", "precision"])
        guard try int("block_size", 0) == 0 else { throw unsupported("block_size", "\(try int("block_size", 0))") }
        let x = try input(0)
        try expectFloat(x)
        let parameters = try quantization(scale: 1, zero: 2, shape: x.shape, defaultType: .uint8, axis: try int("axis", 1))
        guard parameters.quantizedType == .uint8 || parameters.quantizedType == .int8 else {
            throw unsupported("y_zero_point type", "\(parameters.quantizedType)")
        }
        let inner = parameters.inner(shape: x.shape), channels = parameters.channelCount, count = x.count
        let range = parameters.range, signed = parameters.quantizedType == .int8
        let scales = parameters.scales, zeros = parameters.zeroPoints.map(Float.init)
        var output = TensorDescriptor(type: parameters.quantizedType, shape: x.shape)
        // Feeding an integer island (the planner marks it): write channels-last directly.
        if case .int(1)? = node.attributes["rk_channels_last"], channels == 1, x.shape.count == 4, x.shape[2] * x.shape[3] > 1 {
            output.channelsLast = true
            let planes = Int32(x.shape[1]), pixels = Int32(x.shape[2] * x.shape[3])
            let quantization = InputQuantization(scale: scales[0], zeroPoint: Int32(zeros[0]), range: range, isSigned: signed)
            return LoweredNode(outputs: [output], channelsLastQuantization: quantization) { bindings in
                let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
                let out = bindings.outputs[0]
                return {
                    rk_quantize_nchw_to_nhwc(input, planes, pixels, scales[0], Int32(zeros[0]), range.lowerBound, range.upperBound, signed ? 1 : 0, out)
                }
            }
        }
        return LoweredNode(outputs: [output]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0]
            let lo = Float(range.lowerBound), hi = Float(range.upperBound)
            return {
                if channels == 1 {
                    // Per tensor (every activation): a tight loop per output type.
                    let scale = scales[0], zero = zeros[0]
                    if signed {
                        let target = out.assumingMemoryBound(to: Int8.self)
                        for index in 0..<count {
                            let value = (input[index] / scale).rounded(.toNearestOrEven) + zero
                            target[index] = value.isNaN ? Int8(zero) : Int8(min(max(value, lo), hi))
                        }
                    } else {
                        let target = out.assumingMemoryBound(to: UInt8.self)
                        for index in 0..<count {
                            let value = (input[index] / scale).rounded(.toNearestOrEven) + zero
                            target[index] = value.isNaN ? UInt8(zero) : UInt8(min(max(value, lo), hi))
                        }
                    }
                    return
                }
                for index in 0..<count {
                    let channel = channels == 1 ? 0 : (index / inner) % channels
                    // Same order as onnxruntime: divide, round half to even, add the zero point, saturate.
                    var value = (input[index] / scales[channel]).rounded(.toNearestOrEven) + zeros[channel]
                    value = value.isNaN ? zeros[channel] : min(max(value, lo), hi)
                    if signed {
                        out.assumingMemoryBound(to: Int8.self)[index] = Int8(value)
                    } else {
                        out.assumingMemoryBound(to: UInt8.self)[index] = UInt8(value)
                    }
                }
            }
        }
    }

    func lowerDequantize() throws(InferenceError) -> LoweredNode {
        // output_dtype other than float is refused at load (OperatorHistory).
        try allow(["axis", "block_size", "output_dtype"])
        guard try int("block_size", 0) == 0 else { throw unsupported("block_size", "\(try int("block_size", 0))") }
        let x = try input(0)
        guard [.uint8, .int8, .int32].contains(x.type) else { throw fail("input type \(x.type) cannot be dequantized") }
        let parameters = try quantization(scale: 1, zero: 2, shape: x.shape, defaultType: x.type, axis: try int("axis", 1))
        guard parameters.quantizedType == x.type else { throw fail("zero point type \(parameters.quantizedType) differs from input \(x.type)") }
        let inner = parameters.inner(shape: x.shape), channels = parameters.channelCount, count = x.count
        let scales = parameters.scales, zeros = parameters.zeroPoints, type = x.type
        if x.channelsLast {
            guard channels == 1, type != .int32, x.shape.count == 4 else { throw fail("channels-last input needs per-tensor parameters") }
            let planes = Int32(x.shape[1]), pixels = Int32(x.shape[2] * x.shape[3]), signed: Int32 = type == .int8 ? 1 : 0
            return LoweredNode(outputs: [TensorDescriptor(type: .float32, shape: x.shape)]) { bindings in
                let input = bindings.inputs[0]!
                let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
                return { rk_dequantize_nhwc_to_nchw(input, signed, planes, pixels, scales[0], zeros[0], out) }
            }
        }
        return LoweredNode(outputs: [TensorDescriptor(type: .float32, shape: x.shape)]) { bindings in
            let input = bindings.inputs[0]!
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                if channels == 1 && type != .int32 {
                    let scale = scales[0], zero = Float(zeros[0])
                    if type == .uint8 {
                        let source = input.assumingMemoryBound(to: UInt8.self)
                        for index in 0..<count { out[index] = (Float(source[index]) - zero) * scale }
                    } else {
                        let source = input.assumingMemoryBound(to: Int8.self)
                        for index in 0..<count { out[index] = (Float(source[index]) - zero) * scale }
                    }
                    return
                }
                for index in 0..<count {
                    let channel = channels == 1 ? 0 : (index / inner) % channels
                    let raw: Int32
                    switch type {
                    case .uint8: raw = Int32(input.assumingMemoryBound(to: UInt8.self)[index])
                    case .int8: raw = Int32(input.assumingMemoryBound(to: Int8.self)[index])
                    default: raw = input.assumingMemoryBound(to: Int32.self)[index]
                    }
                    out[index] = Float(Int64(raw) - Int64(zeros[channel])) * scales[channel]
                }
            }
        }
    }
}

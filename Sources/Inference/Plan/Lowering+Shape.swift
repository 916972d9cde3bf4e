import Foundation
import ONNX

extension Lowering {
    /// Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout: the same bytes under a new shape (a copy).
    func lowerReshape() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        var shape: [Int]
        switch node.opType {
        case "Flatten":
            try allow(["axis"])
            let rank = x.shape.count
            var axis = try int("axis", 1)
            if axis < 0 { axis += rank }
            guard axis >= 0, axis <= rank else { throw fail("axis \(axis) out of range") }
            shape = [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)]
        case "Reshape":
            try allow(["allowzero"])
            guard try int("allowzero", 0) == 0 else { throw unsupported("allowzero", "1") }
            guard let target = constant(1), let values = target.integers else { throw fail("shape must be an int64 constant") }
            shape = []
            var inferred: Int?
            for (axis, value) in values.enumerated() {
                switch value {
                case 0:
                    guard axis < x.shape.count else { throw fail("0 at axis \(axis) beyond input rank") }
                    shape.append(x.shape[axis])
                case -1:
                    guard inferred == nil else { throw fail("more than one -1 in shape \(values)") }
                    inferred = axis
                    shape.append(1)
                case 1...(1 << 30): shape.append(Int(value))
                default: throw fail("invalid dimension \(value) in shape \(values)")
                }
            }
            if let inferred {
                let known = saturatingProduct(shape)
                guard known > 0, known < Int.max, x.count % known == 0 else { throw fail("cannot infer -1 in \(values) for \(x.count) elements") }
                shape[inferred] = x.count / known
            }
        case "Squeeze":
            try allow([])
            if let axesTensor = constant(1), let axes = axesTensor.integers {
                var drop = Set<Int>()
                for axis in axes {
                    let normalised = try normalise(axis: Int(axis), rank: x.shape.count)
                    guard x.shape[normalised] == 1 else { throw fail("cannot squeeze axis \(axis) of size \(x.shape[normalised])") }
                    drop.insert(normalised)
                }
                shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            } else {
                guard node.inputs.count < 2 || node.inputs[1].isEmpty else { throw fail("axes must be a constant") }
                shape = x.shape.filter { $0 != 1 }
            }
        case "Unsqueeze":
            try allow([])
            guard let axesTensor = constant(1), let axes = axesTensor.integers else { throw fail("axes must be an int64 constant") }
            let rank = x.shape.count + axes.count
            var inserted = Set<Int>()
            for axis in axes { inserted.insert(try normalise(axis: Int(axis), rank: rank)) }
            guard inserted.count == axes.count else { throw fail("repeated axes \(axes)") }
            var source = x.shape.makeIterator()
            shape = (0..<rank).map { inserted.contains($0) ? 1 : source.next() ?? 1 }
        case "Dropout":
            try allow(["seed"])
            guard node.outputs.count == 1 || node.outputs[1].isEmpty else { throw unsupported("mask output", node.outputs[1]) }
            shape = x.shape
        default:
            try allow([])
            shape = x.shape
        }
        let output = TensorDescriptor(type: x.type, shape: shape)
        guard output.count == x.count else { throw fail("cannot reshape \(x.shape) to \(shape)") }
        let bytes = x.bytes
        return LoweredNode(outputs: [output]) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            return { if input != out { memcpy(out, input, bytes) } }
        }
    }

    func lowerTranspose() throws(InferenceError) -> LoweredNode {
        try allow(["perm"])
        let x = try input(0)
        let rank = x.shape.count
        let perm = try ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw unsupported("perm", "\(perm)") }
        let shape = perm.map { x.shape[$0] }
        var inputStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { inputStrides[axis] = inputStrides[axis + 1] * x.shape[axis + 1] }
        let strides = perm.map { inputStrides[$0] }   // input stride of each output axis
        let count = x.count, size = x.type.byteSize
        return LoweredNode(outputs: [TensorDescriptor(type: x.type, shape: shape)]) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            return {
                for index in 0..<count {
                    var remainder = index, offset = 0
                    for axis in stride(from: rank - 1, through: 0, by: -1) {
                        offset += (remainder % shape[axis]) * strides[axis]
                        remainder /= shape[axis]
                    }
                    memcpy(out + index * size, input + offset * size, size)
                }
            }
        }
    }

    func lowerConcat() throws(InferenceError) -> LoweredNode {
        try allow(["axis"])
        guard !node.inputs.isEmpty else { throw fail("no inputs") }
        var parts: [TensorDescriptor] = []
        for index in node.inputs.indices { parts.append(try input(index)) }
        let first = parts[0]
        let axis = try normalise(axis: try int("axis", 0), rank: first.shape.count)
        var shape = first.shape
        shape[axis] = 0
        for part in parts {
            guard part.type == first.type, part.shape.count == first.shape.count,
                  part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == first.shape[$0] }) else {
                throw fail("inputs \(parts.map(\.shape)) cannot be concatenated on axis \(axis)")
            }
            shape[axis] += part.shape[axis]
        }
        let outer = first.shape[..<axis].reduce(1, *)
        let chunks = parts.map { $0.shape[axis...].reduce(1, *) * $0.type.byteSize }
        let total = chunks.reduce(0, +)
        return LoweredNode(outputs: [TensorDescriptor(type: first.type, shape: shape)]) { bindings in
            let inputs = bindings.inputs.map { $0! }, out = bindings.outputs[0]
            return {
                for o in 0..<outer {
                    var offset = o * total
                    for index in 0..<inputs.count {
                        memcpy(out + offset, inputs[index] + o * chunks[index], chunks[index])
                        offset += chunks[index]
                    }
                }
            }
        }
    }

    func lowerGlobalAveragePool() throws(InferenceError) -> LoweredNode {
        try allow([])
        let x = try input(0)
        try expectFloat(x)
        guard x.shape.count >= 3 else { throw fail("input must be N x C x spatial") }
        let planes = x.shape[0] * x.shape[1], size = x.shape[2...].reduce(1, *)
        let shape = Array(x.shape[..<2]) + [Int](repeating: 1, count: x.shape.count - 2)
        return LoweredNode(outputs: [TensorDescriptor(type: .float32, shape: shape)]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                for plane in 0..<planes {
                    var sum: Float = 0
                    let base = input + plane * size
                    for index in 0..<size { sum += base[index] }
                    out[plane] = sum / Float(size)
                }
            }
        }
    }

    /// MaxPool (float, uint8, int8) and AveragePool (float), 2-D.
    func lowerPool() throws(InferenceError) -> LoweredNode {
        let isMax = node.opType == "MaxPool"
        try allow(isMax ? ["kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "storage_order"]
                        : ["kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "count_include_pad"])
        guard node.outputs.count == 1 || node.outputs[1].isEmpty else { throw unsupported("Indices output", node.outputs[1]) }
        let x = try input(0)
        if !isMax || !(x.type == .uint8 || x.type == .int8) { try expectFloat(x) }
        guard x.shape.count == 4 else { throw unsupported("input rank", "\(x.shape.count) (2-D pooling only)") }
        guard let kernel = try ints("kernel_shape"), kernel.count == 2, kernel.allSatisfy({ $0 >= 1 }) else {
            throw fail("kernel_shape must have two positive values")
        }
        let strides = try ints("strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 }) else { throw unsupported("strides", "\(strides)") }
        if let dilations = try ints("dilations"), dilations != [1, 1] { throw unsupported("dilations", "\(dilations)") }
        guard try int("storage_order", 0) == 0 else { throw unsupported("storage_order", "1") }
        let ceilMode = try int("ceil_mode", 0) == 1
        let includePad = try int("count_include_pad", 0) == 1
        var pads = try ints("pads") ?? [0, 0, 0, 0]
        let (height, width) = (x.shape[2], x.shape[3])
        switch try string("auto_pad", "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for (axis, size) in [height, width].enumerated() {
                let out = (size + strides[axis] - 1) / strides[axis]
                let total = max(0, (out - 1) * strides[axis] + kernel[axis] - size)
                pads[axis] = mode == "SAME_UPPER" ? total / 2 : total - total / 2
                pads[axis + 2] = total - pads[axis]
            }
        case let mode: throw unsupported("auto_pad", mode)
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 < kernel[0] + kernel[1] }) else { throw unsupported("pads", "\(pads)") }
        func outputSize(_ size: Int, _ axis: Int) -> Int {
            let span = size + pads[axis] + pads[axis + 2] - kernel[axis]
            var out = (ceilMode ? (span + strides[axis] - 1) / strides[axis] : span / strides[axis]) + 1
            // A window that would start entirely in the end padding is dropped (ceil_mode).
            if ceilMode, (out - 1) * strides[axis] >= size + pads[axis] { out -= 1 }
            return out
        }
        guard height + pads[0] + pads[2] >= kernel[0], width + pads[1] + pads[3] >= kernel[1] else {
            throw fail("kernel \(kernel) does not fit the \(height)x\(width) input")
        }
        let outHeight = outputSize(height, 0), outWidth = outputSize(width, 1)
        let planes = x.shape[0] * x.shape[1]
        let output = TensorDescriptor(type: x.type, shape: [x.shape[0], x.shape[1], outHeight, outWidth])
        let type = x.type
        return LoweredNode(outputs: [output]) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            return {
                for plane in 0..<planes {
                    for oh in 0..<outHeight {
                        let h0 = oh * strides[0] - pads[0]
                        let hStart = max(h0, 0), hEnd = max(hStart, min(h0 + kernel[0], height))
                        for ow in 0..<outWidth {
                            let w0 = ow * strides[1] - pads[1]
                            let wStart = max(w0, 0), wEnd = max(wStart, min(w0 + kernel[1], width))
                            let target = (plane * outHeight + oh) * outWidth + ow
                            switch type {
                            case .float32:
                                let source = input.assumingMemoryBound(to: Float.self) + plane * height * width
                                if isMax {
                                    var best = -Float.infinity
                                    for h in hStart..<hEnd { for w in wStart..<wEnd { best = max(best, source[h * width + w]) } }
                                    out.assumingMemoryBound(to: Float.self)[target] = best
                                } else {
                                    var sum: Float = 0
                                    for h in hStart..<hEnd { for w in wStart..<wEnd { sum += source[h * width + w] } }
                                    let divisor = includePad
                                        ? (min(h0 + kernel[0], height + pads[2]) - h0) * (min(w0 + kernel[1], width + pads[3]) - w0)
                                        : (hEnd - hStart) * (wEnd - wStart)
                                    out.assumingMemoryBound(to: Float.self)[target] = divisor > 0 ? sum / Float(divisor) : 0
                                }
                            case .uint8:
                                let source = input.assumingMemoryBound(to: UInt8.self) + plane * height * width
                                var best = UInt8.min
                                for h in hStart..<hEnd { for w in wStart..<wEnd { best = max(best, source[h * width + w]) } }
                                out.assumingMemoryBound(to: UInt8.self)[target] = best
                            default:
                                let source = input.assumingMemoryBound(to: Int8.self) + plane * height * width
                                var best = Int8.min
                                for h in hStart..<hEnd { for w in wStart..<wEnd { best = max(best, source[h * width + w]) } }
                                out.assumingMemoryBound(to: Int8.self)[target] = best
                            }
                        }
                    }
                }
            }
        }
    }
}

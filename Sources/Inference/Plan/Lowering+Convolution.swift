import CInferenceKernels
import ONNX

/// Memory owned by the plan with a fixed address for kernels to read (weights, biases, multipliers).
final class Pinned<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(_ values: [Element]) {
        count = values.count
        pointer = .allocate(capacity: max(values.count, 1))
        pointer.initialize(from: values, count: values.count)
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
}

/// Rounds up to a multiple of 64 bytes, so scratch sub-buffers stay cache-line aligned.
func aligned(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

extension Lowering {
    /// Geometry shared by the float and integer convolutions, validated against the input and weight shapes.
    func convGeometry(input: TensorDescriptor, weightShape: [Int]) throws(InferenceError) -> rk_conv_geometry {
        try allow(["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])
        guard input.shape.count == 4 else { throw unsupported("input rank", "\(input.shape.count) (only 2-D convolution)") }
        guard weightShape.count == 4 else { throw fail("weight shape \(weightShape) is not 4-D") }
        let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
        guard input.shape[0] == 1 else { throw unsupported("batch", "\(input.shape[0]) (batch size 1 only)") }
        let group = try int("group", 1)
        let outChannels = weightShape[0]
        let kernel = try ints("kernel_shape") ?? Array(weightShape[2...])
        guard kernel.count == 2, kernel.allSatisfy({ $0 >= 1 }) else { throw unsupported("kernel_shape", "\(kernel)") }
        guard kernel == Array(weightShape[2...]) else { throw fail("kernel_shape \(kernel) does not match weights \(weightShape)") }
        let strides = try ints("strides") ?? [1, 1]
        let dilations = try ints("dilations") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 }) else { throw unsupported("strides", "\(strides)") }
        guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 }) else { throw unsupported("dilations", "\(dilations)") }
        guard group >= 1, channels % group == 0, outChannels % group == 0, weightShape[1] == channels / group else {
            throw fail("group \(group) does not fit \(channels) input and \(outChannels) output channels with weights \(weightShape)")
        }
        let extent = [(kernel[0] - 1) * dilations[0] + 1, (kernel[1] - 1) * dilations[1] + 1]
        var pads = try ints("pads") ?? [0, 0, 0, 0]
        switch try string("auto_pad", "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for (axis, size) in [height, width].enumerated() {
                let out = (size + strides[axis] - 1) / strides[axis]
                let total = max(0, (out - 1) * strides[axis] + extent[axis] - size)
                let small = total / 2
                pads[axis] = mode == "SAME_UPPER" ? small : total - small
                pads[axis + 2] = total - pads[axis]
            }
        case let mode: throw unsupported("auto_pad", mode)
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 < 1 << 12 }) else { throw unsupported("pads", "\(pads)") }
        let outHeight = (height + pads[0] + pads[2] - extent[0]) / strides[0] + 1
        let outWidth = (width + pads[1] + pads[3] - extent[1]) / strides[1] + 1
        guard height + pads[0] + pads[2] >= extent[0], width + pads[1] + pads[3] >= extent[1], outHeight > 0, outWidth > 0 else {
            throw fail("kernel \(kernel) does not fit the \(height)x\(width) input")
        }
        let all = [channels, height, width, outChannels, outHeight, outWidth, kernel[0], kernel[1]]
        guard all.allSatisfy({ $0 < 1 << 16 }), channels * (height + pads[0] + pads[2]) * (width + pads[1] + pads[3]) < 1 << 28 else {
            throw fail("dimensions too large")
        }
        return rk_conv_geometry(
            inChannels: Int32(channels), inHeight: Int32(height), inWidth: Int32(width),
            outChannels: Int32(outChannels), outHeight: Int32(outHeight), outWidth: Int32(outWidth), group: Int32(group),
            kernelHeight: Int32(kernel[0]), kernelWidth: Int32(kernel[1]), strideHeight: Int32(strides[0]), strideWidth: Int32(strides[1]),
            padTop: Int32(pads[0]), padLeft: Int32(pads[1]), padBottom: Int32(pads[2]), padRight: Int32(pads[3]),
            dilationHeight: Int32(dilations[0]), dilationWidth: Int32(dilations[1]))
    }

    /// The fused activation as a float clamp (Relu or Clip folded in by the rewriter).
    func fusedActivation() throws(InferenceError) -> (lo: Float, hi: Float) {
        switch node.attributes["rk_activation"] {
        case nil: return (-.infinity, .infinity)
        case .string("Relu")?: return (0, .infinity)
        case .string("Clip")?:
            guard case .floats(let bounds)? = node.attributes["rk_clip"], bounds.count == 2 else { throw fail("clip bounds missing") }
            return (bounds[0], bounds[1])
        case let other?: throw unsupported("activation", "\(other)")
        }
    }

    func lowerConv() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        try expectFloat(x)
        guard let weight = constant(1), weight.elementType == .float32 else { throw fail("weights must be a float32 constant") }
        var geometry = try convGeometry(input: x, weightShape: weight.shape)
        var bias: Pinned<Float>?
        if let tensor = constant(2) {
            guard tensor.count == Int(geometry.outChannels), tensor.elementType == .float32 else { throw fail("bias must be \(geometry.outChannels) floats") }
            bias = Pinned(tensor.floats)
        } else if node.inputs.count > 2, !node.inputs[2].isEmpty {
            throw fail("bias must be a constant")
        }
        let weights = Pinned(weight.floats)
        let (lo, hi) = try fusedActivation()
        let output = TensorDescriptor(type: .float32, shape: [1, Int(geometry.outChannels), Int(geometry.outHeight), Int(geometry.outWidth)])
        return LoweredNode(outputs: [output]) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: Float.self)
            let out = bindings.outputs[0].assumingMemoryBound(to: Float.self)
            return {
                rk_conv2d_f32(&geometry, input, weights.pointer, bias?.pointer, out, lo, hi)
            }
        }
    }

    /// QLinearConv from a QOperator model or from a fused DequantizeLinear -> Conv -> QuantizeLinear island.
    /// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias (int32).
    func lowerQLinearConv() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        guard x.type == .uint8 || x.type == .int8 else { throw fail("input must be uint8 or int8, got \(x.type)") }
        guard let weight = constant(3), weight.elementType == .int8 || weight.elementType == .uint8 else {
            throw fail("weights must be an int8 or uint8 constant")
        }
        var geometry = try convGeometry(input: x, weightShape: weight.shape)
        let outChannels = Int(geometry.outChannels)
        let inputQuant = try quantization(scale: 1, zero: 2, shape: x.shape, defaultType: x.type)
        let weightQuant = try quantization(scale: 4, zero: 5, shape: weight.shape, defaultType: weight.elementType, axis: 0)
        let outputQuant = try quantization(scale: 6, zero: 7, shape: [], defaultType: .uint8)
        guard inputQuant.channelCount == 1, outputQuant.channelCount == 1 else { throw fail("input and output must be quantized per tensor") }
        guard inputQuant.quantizedType == x.type else { throw fail("input zero point type differs from the input") }
        guard weightQuant.channelCount == 1 || weightQuant.channelCount == outChannels else {
            throw fail("\(weightQuant.channelCount) weight scales for \(outChannels) output channels")
        }
        if case .int(let axis)? = node.attributes["rk_weight_axis"], weightQuant.channelCount > 1, axis != 0 {
            throw unsupported("axis", "\(axis) (weights must be quantized per output channel)")
        }
        let perChannel = weight.count / max(outChannels, 1)
        let raw = weight.integers ?? []
        var weights = [Int8](repeating: 0, count: raw.count)
        for index in raw.indices {
            let channel = weightQuant.channelCount == 1 ? 0 : index / perChannel
            guard let value = Int8(exactly: raw[index] - Int64(weightQuant.zeroPoints[channel])) else {
                throw unsupported("w_zero_point", "\(weightQuant.zeroPoints[channel]) (weights minus zero point must fit int8)")
            }
            weights[index] = value
        }
        var biasValues: [Int32]?
        if let bias = constant(8) {
            guard bias.elementType == .int32, bias.count == outChannels, let values = bias.integers else {
                throw fail("bias must be \(outChannels) int32 values")
            }
            biasValues = values.map { Int32($0) }
        }
        // Accumulators: per output channel, |sum (x - x_zero) * w| <= 255 * sum|w| must fit int32 (checked here from
        // the actual weights). The bias is then added with two's-complement wrap-around (the C kernels are built
        // with -fwrapv), exactly as onnxruntime's int32 accumulators do: quantizers saturate the bias of
        // near-dead channels at the int32 limit, and a refusal there would reject real models.
        let reduction = perChannel
        var largestSum = 0
        for channel in 0..<outChannels {
            let sum = weights[(channel * perChannel)..<((channel + 1) * perChannel)].reduce(0) { $0 + abs(Int($1)) } * 255
            largestSum = max(largestSum, sum)
        }
        // The dot-product path sums x * w with x unsigned: up to twice the range before the zero-point correction.
        guard 2 * largestSum < Int(Int32.max) else { throw fail("accumulator could overflow int32 (\(reduction) terms)") }
        let multipliers = (0..<outChannels).map { channel in
            inputQuant.scales[0] * weightQuant.scales[weightQuant.channelCount == 1 ? 0 : channel] / outputQuant.scales[0]
        }
        let clamp = try quantizedClamp(outputQuant)
        let outputType = outputQuant.quantizedType
        guard outputType == .uint8 || outputType == .int8 else { throw fail("output must be uint8 or int8") }
        let output = TensorDescriptor(type: outputType, shape: [1, outChannels, Int(geometry.outHeight), Int(geometry.outWidth)])
        let paddedBytes = aligned(Int(geometry.inChannels) * Int(geometry.inHeight + geometry.padTop + geometry.padBottom)
            * Int(geometry.inWidth + geometry.padLeft + geometry.padRight) * 2)
        let accumulatorBytes = aligned(Int(geometry.outHeight * geometry.outWidth) * 4)
        let pinnedWeights = Pinned(weights), pinnedBias = biasValues.map(Pinned.init), pinnedMultipliers = Pinned(multipliers)
        let zero = inputQuant.zeroPoints[0], signedInput = x.type == .int8

        // Pointwise convolutions (most of the work in MobileNet-style networks) also get weights packed
        // for the CPU's dot-product instruction; the kernel falls back to the portable one without it.
        let pointwise = geometry.kernelHeight == 1 && geometry.kernelWidth == 1 && geometry.strideHeight == 1 && geometry.strideWidth == 1
            && geometry.padTop == 0 && geometry.padLeft == 0 && geometry.padBottom == 0 && geometry.padRight == 0 && geometry.group == 1
        var fastScratch = 0
        var packed: Pinned<Int8>?, biasAdjusted: Pinned<Int32>?
        if pointwise {
            let channels = Int(geometry.inChannels)
            var buffer = [Int8](repeating: 0, count: Int(rk_pointwise_packed_bytes(geometry.outChannels, geometry.inChannels)))
            rk_pointwise_pack(weights, geometry.outChannels, geometry.inChannels, &buffer)
            packed = Pinned(buffer)
            let unsignedZero = Int(zero) + (signedInput ? 128 : 0)
            biasAdjusted = Pinned((0..<outChannels).map { m in
                let sum = weights[(m * channels)..<((m + 1) * channels)].reduce(0) { $0 + Int($1) }
                return Int32(truncatingIfNeeded: Int(biasValues?[m] ?? 0) - unsignedZero * sum)   // wraps like the kernels
            })
            fastScratch = aligned(Int(rk_pointwise_scratch_bytes(geometry.inChannels, geometry.outHeight * geometry.outWidth)))
        }
        // Small reductions (depthwise, the first 3x3 layer) run as exact float multiply-adds: every partial
        // sum is an integer of magnitude <= K * 255 * 128 < 2^24, which float32 represents exactly.
        let exactFloat = !pointwise && largestSum < 1 << 24
        let floatWeights = exactFloat ? Pinned(weights.map(Float.init)) : nil
        let floatScratch = exactFloat
            ? aligned(Int(geometry.inChannels) * Int(geometry.inHeight + geometry.padTop + geometry.padBottom)
                * Int(geometry.inWidth + geometry.padLeft + geometry.padRight) * 4) + accumulatorBytes
            : 0
        let pixels = geometry.outHeight * geometry.outWidth
        let detail = "\(geometry.kernelHeight)x\(geometry.kernelWidth)/\(geometry.strideHeight) g\(geometry.group) \(geometry.inChannels)->\(geometry.outChannels) \(geometry.outHeight)x\(geometry.outWidth)"
        return LoweredNode(outputs: [output], scratchBytes: max(paddedBytes + accumulatorBytes, fastScratch, floatScratch), detail: detail) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            let padded = bindings.scratch!.assumingMemoryBound(to: Int16.self)
            let accumulator = (bindings.scratch! + paddedBytes).assumingMemoryBound(to: Int32.self)
            var requant = rk_requant(multiplier: pinnedMultipliers.pointer, zeroPoint: outputQuant.zeroPoints[0], lo: clamp.lowerBound,
                                     hi: clamp.upperBound, outputSigned: outputType == .int8 ? 1 : 0,
                                     floatOutput: nil, floatScale: nil, floatBias: nil)
            return {
                _ = pinnedMultipliers
                if let packed, let biasAdjusted,
                   rk_qpointwise_fast(geometry.inChannels, geometry.outChannels, pixels, input, signedInput ? 1 : 0, packed.pointer,
                                      biasAdjusted.pointer, bindings.scratch!.assumingMemoryBound(to: UInt8.self), out, &requant) != 0 {
                    return
                }
                if let floatWeights, rk_portable_forced() == 0 {
                    let paddedFloat = bindings.scratch!.assumingMemoryBound(to: Float.self)
                    let floatBytes = floatScratch - accumulatorBytes
                    if signedInput {
                        rk_pad_s8_f32(input.assumingMemoryBound(to: Int8.self), geometry.inChannels, geometry.inHeight, geometry.inWidth, zero,
                                      geometry.padTop, geometry.padLeft, geometry.padBottom, geometry.padRight, paddedFloat)
                    } else {
                        rk_pad_u8_f32(input.assumingMemoryBound(to: UInt8.self), geometry.inChannels, geometry.inHeight, geometry.inWidth, zero,
                                      geometry.padTop, geometry.padLeft, geometry.padBottom, geometry.padRight, paddedFloat)
                    }
                    rk_qconv2d_exact_f32(&geometry, paddedFloat, floatWeights.pointer, pinnedBias?.pointer,
                                         (bindings.scratch! + floatBytes).assumingMemoryBound(to: Float.self), out, &requant)
                    return
                }
                if signedInput {
                    rk_pad_s8(input.assumingMemoryBound(to: Int8.self), geometry.inChannels, geometry.inHeight, geometry.inWidth, zero,
                              geometry.padTop, geometry.padLeft, geometry.padBottom, geometry.padRight, padded)
                } else {
                    rk_pad_u8(input.assumingMemoryBound(to: UInt8.self), geometry.inChannels, geometry.inHeight, geometry.inWidth, zero,
                              geometry.padTop, geometry.padLeft, geometry.padBottom, geometry.padRight, padded)
                }
                rk_qconv2d(&geometry, padded, pinnedWeights.pointer, pinnedBias?.pointer, accumulator, out, &requant)
            }
        }
    }

    /// Quantization parameters from constant inputs `scale` and `zero`.
    func quantization(scale: Int, zero: Int, shape: [Int], defaultType: ONNXElementType, axis: Int? = nil) throws(InferenceError) -> QuantizationParameters {
        guard let scaleTensor = constant(scale) else { throw fail("scale (input \(scale)) must be a constant") }
        let zeroTensor = constant(zero)
        if zeroTensor == nil, zero < node.inputs.count, !node.inputs[zero].isEmpty { throw fail("zero point (input \(zero)) must be a constant") }
        let axisAttribute: ONNXAttribute? = axis.map { .int(Int64($0)) }
        let parameters = try QuantizationParameters(scale: scaleTensor, zeroPoint: zeroTensor, axisAttribute: axisAttribute,
                                                    shape: shape.isEmpty ? [scaleTensor.count] : shape, node: node, defaultType: defaultType)
        return parameters
    }

    /// Output clamp in the quantized domain, narrowed by a fused Relu or Clip.
    func quantizedClamp(_ output: QuantizationParameters) throws(InferenceError) -> ClosedRange<Int32> {
        var range = output.range
        let (lo, hi) = try fusedActivation()
        let zero = output.zeroPoints[0], scale = output.scales[0]
        func quantize(_ value: Float) -> Int32 {
            let q = (value / scale).rounded(.toNearestOrEven) + Float(zero)
            return Int32(max(Float(range.lowerBound), min(Float(range.upperBound), q)))
        }
        if lo.isFinite { range = max(range.lowerBound, quantize(lo))...range.upperBound }
        if hi.isFinite { range = range.lowerBound...max(range.lowerBound, min(range.upperBound, quantize(hi))) }
        return range
    }
}

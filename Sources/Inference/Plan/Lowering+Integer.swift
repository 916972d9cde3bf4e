import CInferenceKernels
import ONNX

/// Integer islands run channels-last: every quantized 4-D value produced by QLinearConv, QLinearAdd or a
/// QuantizeLinear that feeds them is stored NHWC, so the dot-product kernels read a pixel's channels
/// contiguously and no layer pays for an im2col or a transpose of its activations. The planner asks each
/// node which layout it reads (`wantsChannelsLast`) and inserts a byte transpose (`rk` ToNHWC / ToNCHW)
/// where a producer and a consumer disagree, so operators without an NHWC kernel stay correct.
/// A QLinearConv checked and reduced to what the kernels need (weights minus their zero point, ONNX order).
private struct IntegerConvolution {
    var geometry: rk_conv_geometry
    var weights: [Int8]
    var bias: [Int32]
    /// Per output channel, padded to whole blocks of 16.
    var multipliers: [Float]
    var requant: rk_requant
    var zero: Int32
    var signedInput: Bool
    var output: TensorDescriptor
    var detail: String
}

extension Lowering {
    /// The layout node input `index` must have: true channels-last, false NCHW, nil either.
    func wantsChannelsLast(input index: Int) -> Bool? {
        switch (node.domain, node.opType) {
        case ("", "QLinearConv"):
            return index == 0 ? true : nil
        case ("com.microsoft", "QLinearAdd"):
            guard index == 0 || index == 3 else { return nil }
            // The fast kernel is elementwise: it needs both operands in the same layout and shape.
            guard let a = inputs.first ?? nil, inputs.count > 3, let b = inputs[3], a.shape == b.shape, a.type == b.type else { return false }
            return index == 0 ? nil : a.channelsLast
        case ("", "DequantizeLinear"):
            // Per-tensor dequantization transposes back to NCHW as it converts.
            return index == 0 && (constant(1)?.count ?? 0) == 1 ? nil : false
        default:
            return false
        }
    }

    /// Byte transposes between the layouts (inserted by the planner).
    func lowerLayoutConversion() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        guard x.shape.count == 4, x.type.byteSize == 1 else { throw fail("layout conversion of \(x.type) \(x.shape)") }
        let toChannelsLast = node.opType == "ToNHWC"
        let channels = Int32(x.shape[1]), pixels = Int32(x.shape[2] * x.shape[3])
        var output = x
        output.channelsLast = toChannelsLast
        return LoweredNode(outputs: [output]) { bindings in
            let source = bindings.inputs[0]!.assumingMemoryBound(to: UInt8.self)
            let target = bindings.outputs[0].assumingMemoryBound(to: UInt8.self)
            return toChannelsLast
                ? { rk_transpose_bytes(source, channels, pixels, target) }
                : { rk_transpose_bytes(source, pixels, channels, target) }
        }
    }

    /// QLinearConv from a QOperator model or from a fused DequantizeLinear -> Conv -> QuantizeLinear island.
    /// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias (int32).
    /// Depthwise convolutions get their own kernel; every other one is a matrix product over the pixels,
    /// straight from the input for 1x1 stride-1 layers and through an im2col copy otherwise.
    func lowerQLinearConv() throws(InferenceError) -> LoweredNode {
        let x = try input(0)
        guard x.type == .uint8 || x.type == .int8 else { throw fail("input must be uint8 or int8, got \(x.type)") }
        guard let weight = constant(3), weight.elementType == .int8 || weight.elementType == .uint8 else {
            throw fail("weights must be an int8 or uint8 constant")
        }
        let geometry = try convGeometry(input: x, weightShape: weight.shape)
        let outChannels = Int(geometry.outChannels), inChannels = Int(geometry.inChannels), groups = Int(geometry.group)
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
        // Weights minus their zero point, in ONNX order [m][c][kh][kw].
        let perChannel = weight.count / max(outChannels, 1)
        let weights = try centredWeights(weight, zeroPoints: weightQuant.zeroPoints, perChannel: perChannel)
        var bias = [Int32](repeating: 0, count: outChannels)
        if let tensor = constant(8) {
            guard case .int32(let values) = tensor.values, values.count == outChannels else {
                throw fail("bias must be \(outChannels) int32 values")
            }
            bias = values
        }
        // Accumulators: per output channel, sum x * w with x read unsigned (0...255) is at most 255 * sum|w|;
        // it must fit int32 with room for the zero-point correction (checked from the actual weights). The bias
        // is added with two's-complement wrap-around (the C kernels are built with -fwrapv), exactly as
        // onnxruntime's int32 accumulators do: quantizers saturate the bias of near-dead channels at the int32
        // limit, and a refusal there would reject real models.
        var largestSum = 0
        for channel in 0..<outChannels {
            let sum = weights[(channel * perChannel)..<((channel + 1) * perChannel)].reduce(0) { $0 + abs(Int($1)) } * 255
            largestSum = max(largestSum, sum)
        }
        guard 2 * largestSum < Int(Int32.max) else { throw fail("accumulator could overflow int32 (\(perChannel) terms)") }
        // Multipliers and biases are padded to whole blocks of 16 lanes, which the vector kernels load.
        let padded = (outChannels + 15) / 16 * 16 + 16
        var multipliers = [Float](repeating: 0, count: padded)
        for channel in 0..<outChannels {
            multipliers[channel] = inputQuant.scales[0] * weightQuant.scales[weightQuant.channelCount == 1 ? 0 : channel] / outputQuant.scales[0]
        }
        let clamp = try quantizedClamp(outputQuant)
        let outputType = outputQuant.quantizedType
        guard outputType == .uint8 || outputType == .int8 else { throw fail("output must be uint8 or int8") }
        let pixels = Int(geometry.outHeight) * Int(geometry.outWidth)
        let output = TensorDescriptor(type: outputType, shape: [1, outChannels, Int(geometry.outHeight), Int(geometry.outWidth)],
                                      channelsLast: pixels > 1)
        let zero = inputQuant.zeroPoints[0], signedInput = x.type == .int8
        let detail = "\(geometry.kernelHeight)x\(geometry.kernelWidth)/\(geometry.strideHeight) g\(geometry.group) \(geometry.inChannels)->\(geometry.outChannels) \(geometry.outHeight)x\(geometry.outWidth)"
        let requant = rk_requant(multiplier: nil, zeroPoint: outputQuant.zeroPoints[0], lo: clamp.lowerBound, hi: clamp.upperBound,
                                 outputSigned: outputType == .int8 ? 1 : 0, floatOutput: nil, floatScale: nil, floatBias: nil)
        let layer = IntegerConvolution(geometry: geometry, weights: weights, bias: bias, multipliers: multipliers, requant: requant,
                                       zero: zero, signedInput: signedInput, output: output, detail: detail)
        if groups == inChannels, outChannels == inChannels, groups > 1 { return lowerDepthwise(layer) }
        return lowerMatrixConvolution(layer)
    }

    /// Weights minus their zero point (one, or one per output channel of `perChannel` weights), which must
    /// fit int8. Symmetric int8 weights, what onnxruntime's quantizer writes by default, are taken as they are.
    private func centredWeights(_ weight: ONNXTensor, zeroPoints: [Int32], perChannel: Int) throws(InferenceError) -> [Int8] {
        if case .int8(let values) = weight.values, zeroPoints.allSatisfy({ $0 == 0 }) { return values }
        func centre<Element: BinaryInteger>(_ values: [Element]) throws(InferenceError) -> [Int8] {
            var out = [Int8](repeating: 0, count: values.count)
            for index in values.indices {
                let zero = zeroPoints[zeroPoints.count == 1 ? 0 : index / max(perChannel, 1)]
                guard let value = Int8(exactly: Int(values[index]) - Int(zero)) else {
                    throw unsupported("w_zero_point", "\(zero) (weights minus zero point must fit int8)")
                }
                out[index] = value
            }
            return out
        }
        switch weight.values {
        case .int8(let values): return try centre(values)
        case .uint8(let values): return try centre(values)
        default: throw fail("weights must be an int8 or uint8 constant")
        }
    }

    /// Depthwise: int32 weights [kh][kw][c] for the portable kernel, packed operands for the dot-product ones.
    private func lowerDepthwise(_ layer: IntegerConvolution) -> LoweredNode {
        let geometry = layer.geometry
        let inChannels = Int(geometry.inChannels), taps = Int(geometry.kernelHeight * geometry.kernelWidth)
        let (weights, bias, multipliers, zero, signedInput) = (layer.weights, layer.bias, layer.multipliers, layer.zero, layer.signedInput)
        let (output, detail, requant) = (layer.output, layer.detail, layer.requant)
        var tapWeights = [Int32](repeating: 0, count: taps * inChannels)
        for channel in 0..<inChannels {
            for tap in 0..<taps { tapWeights[tap * inChannels + channel] = Int32(weights[channel * taps + tap]) }
        }
        let blockSlots = (inChannels + 63) / 64 * 64
        var packedWeights = [Int8](repeating: 0, count: Int(rk_depthwise_packed_weight_bytes(Int32(inChannels), Int32(taps))))
        var packedBias = [Int32](repeating: 0, count: blockSlots), packedMultipliers = [Float](repeating: 0, count: blockSlots)
        rk_depthwise_pack(tapWeights, bias, multipliers, Int32(inChannels), Int32(taps), zero + (signedInput ? 128 : 0),
                          &packedWeights, &packedBias, &packedMultipliers)
        let pinnedWeights = Pinned(tapWeights), pinnedBias = Pinned(bias), pinnedMultipliers = Pinned(multipliers)
        let pool = self.pool
        let pinnedPacked = Pinned(packedWeights), pinnedPackedBias = Pinned(packedBias), pinnedPackedMultipliers = Pinned(packedMultipliers)
        // Few channels: the same operands tiled over 64 bytes of neighbouring pixels.
        var flat: (weights: Pinned<Int8>, bias: Pinned<Int32>, multipliers: Pinned<Float>)?
        if rk_depthwise_flat_supported(Int32(inChannels)) != 0 {
            var flatWeights = [Int8](repeating: 0, count: taps * 256)
            var flatBias = [Int32](repeating: 0, count: 64), flatMultipliers = [Float](repeating: 0, count: 64)
            rk_depthwise_pack_flat(tapWeights, bias, multipliers, Int32(inChannels), Int32(taps), zero + (signedInput ? 128 : 0),
                                   &flatWeights, &flatBias, &flatMultipliers)
            flat = (Pinned(flatWeights), Pinned(flatBias), Pinned(flatMultipliers))
        }
        // One scratch area per thread.
        let threadScratch = aligned(Int(rk_depthwise_scratch_bytes(Int32(inChannels))))
        var stage = requant
        stage.multiplier = UnsafePointer(pinnedMultipliers.pointer)
        let operands = rk_depthwise_packed(weight: pinnedPacked.pointer, bias: pinnedPackedBias.pointer, multiplier: pinnedPackedMultipliers.pointer,
                                           flatWeight: flat.map { UnsafePointer($0.weights.pointer) }, flatBias: flat.map { UnsafePointer($0.bias.pointer) },
                                           flatMultiplier: flat.map { UnsafePointer($0.multipliers.pointer) })
        let kernel = DepthwiseKernel(geometry: geometry, signedInput: signedInput, zero: zero, weights: pinnedWeights, bias: pinnedBias,
                                     operands: operands, stage: stage, threadScratch: threadScratch, pool: pool,
                                     keepAlive: [pinnedMultipliers, pinnedPacked, pinnedPackedBias, pinnedPackedMultipliers] + (flat.map { [$0.weights, $0.bias, $0.multipliers] } ?? []))
        return LoweredNode(outputs: [output], scratchBytes: kernel.scratchBytes, detail: "depthwise " + detail, readsConstantInputs: false,
                           banding: .depthwise(kernel)) { bindings in
            let input = bindings.inputs[0]!, out = bindings.outputs[0]
            let scratch = bindings.scratch!
            return { kernel.run(kernel.geometry.pointer, input: input, output: out, scratch: scratch) }
        }
    }

    /// Every other convolution is a matrix product over the pixels per group.
    private func lowerMatrixConvolution(_ layer: IntegerConvolution) -> LoweredNode {
        var geometry = layer.geometry
        let inChannels = Int(geometry.inChannels), outChannels = Int(geometry.outChannels), groups = Int(geometry.group)
        let taps = Int(geometry.kernelHeight * geometry.kernelWidth), pixels = Int(geometry.outHeight) * Int(geometry.outWidth)
        let (weights, bias, multipliers, zero, signedInput) = (layer.weights, layer.bias, layer.multipliers, layer.zero, layer.signedInput)
        let (output, detail, requant, padded) = (layer.output, layer.detail, layer.requant, layer.multipliers.count)
        // Matrix product per group: depth K = taps x channels of the group, in (kh, kw, c) order to match im2col.
        let groupChannels = inChannels / groups, groupOutputs = outChannels / groups
        let depth = taps * groupChannels, rowBytes = (depth + 3) / 4 * 4
        let unsignedZero = Int(zero) + (signedInput ? 128 : 0)
        let groupPacked = Int(rk_gemm_packed_bytes(Int32(groupOutputs), Int32(depth)))
        var packed = [Int8](repeating: 0, count: groupPacked * groups)
        var adjusted = [Int32](repeating: 0, count: padded)
        var matrix = [Int8](repeating: 0, count: groupOutputs * depth)
        for group in 0..<groups {
            // Writes through the buffer (m * depth + tap * groupChannels + c < groupOutputs * depth, the
            // matrix's size): element stores into the array cost a uniqueness check each, a tenth of a cold load.
            matrix.withUnsafeMutableBufferPointer { matrix in
                for m in 0..<groupOutputs {
                    let channel = group * groupOutputs + m
                    var sum = 0
                    for c in 0..<groupChannels {
                        for tap in 0..<taps {
                            let value = weights[(channel * groupChannels + c) * taps + tap]
                            matrix[m * depth + tap * groupChannels + c] = value
                            sum += Int(value)
                        }
                    }
                    // sum (x - zero) w = sum x w - zero sum w: the correction goes into the bias once.
                    adjusted[channel] = Int32(truncatingIfNeeded: Int(bias[channel]) - unsignedZero * sum)
                }
            }
            packed.withUnsafeMutableBufferPointer { buffer in
                rk_gemm_pack(matrix, Int32(groupOutputs), Int32(depth), buffer.baseAddress! + group * groupPacked)
            }
        }
        // 1x1 stride-1 layers read the activations in place; the rest copy each pixel's receptive field into
        // a row first. Signed input is read xor 0x80, its unsigned form, either way.
        let direct = taps == 1 && groups == 1 && geometry.strideHeight == 1 && geometry.strideWidth == 1
            && geometry.padTop == 0 && geometry.padLeft == 0 && geometry.padBottom == 0 && geometry.padRight == 0
        let columnBytes = direct ? 0 : aligned(pixels * rowBytes + 64)
        let pinnedPacked = Pinned(packed), pinnedAdjusted = Pinned(adjusted), pinnedMultipliers = Pinned(multipliers)
        let pool = self.pool
        let flip: UInt8 = signedInput ? 0x80 : 0, padValue = UInt8(truncatingIfNeeded: unsignedZero)
        if direct {
            var stage = requant
            stage.multiplier = UnsafePointer(pinnedMultipliers.pointer)
            let kernel = PointwiseKernel(inChannels: Int32(inChannels), outChannels: Int32(outChannels), flip: flip, packed: pinnedPacked,
                                         adjustedBias: pinnedAdjusted, stage: stage, multipliers: pinnedMultipliers, pool: pool)
            let pixelCount = Int32(pixels)
            return LoweredNode(outputs: [output], detail: "pointwise " + detail, readsConstantInputs: false, banding: .pointwise(kernel)) { bindings in
                let input = bindings.inputs[0]!.assumingMemoryBound(to: UInt8.self), out = bindings.outputs[0].assumingMemoryBound(to: UInt8.self)
                return { kernel.run(pixels: pixelCount, input: input, output: out) }
            }
        }
        return LoweredNode(outputs: [output], scratchBytes: columnBytes, detail: "im2col " + detail, readsConstantInputs: false) { bindings in
            let input = bindings.inputs[0]!.assumingMemoryBound(to: UInt8.self), out = bindings.outputs[0].assumingMemoryBound(to: UInt8.self)
            let columns = bindings.scratch?.assumingMemoryBound(to: UInt8.self)
            var stages: [rk_requant] = []
            for group in 0..<groups {
                var stage = requant
                stage.multiplier = UnsafePointer(pinnedMultipliers.pointer + group * groupOutputs)
                stages.append(stage)
            }
            let pinnedStages = Pinned(stages)
            let pixelCount = Int32(pixels), outputs = Int32(groupOutputs), k = Int32(depth), stride = Int64(rowBytes)
            return {
                _ = pinnedMultipliers
                guard let columns else { return }
                for group in 0..<groups {
                    rk_im2col_nhwc(&geometry, input, Int32(group * groupChannels), Int32(groupChannels), flip, padValue, columns, Int32(rowBytes))
                    rk_qgemm_u8s8_parallel(pool, pixelCount, outputs, k, columns, stride, 0, pinnedPacked.pointer + group * groupPacked,
                                  pinnedAdjusted.pointer + group * groupOutputs, out + group * groupOutputs, Int64(outChannels), pinnedStages.pointer + group)
                }
            }
        }
    }

    /// com.microsoft QLinearAdd (also what residual DequantizeLinear x2 -> Add -> QuantizeLinear becomes):
    /// A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point; a fused Relu or Clip
    /// narrows the output clamp.
    func lowerQLinearAdd() throws(InferenceError) -> LoweredNode {
        try allow([])
        let a = try input(0), b = try input(3)
        guard [.uint8, .int8].contains(a.type), [.uint8, .int8].contains(b.type) else { throw fail("inputs must be uint8 or int8, got \(a.type) and \(b.type)") }
        let aQuant = try quantization(scale: 1, zero: 2, shape: [], defaultType: a.type)
        let bQuant = try quantization(scale: 4, zero: 5, shape: [], defaultType: b.type)
        let outQuant = try quantization(scale: 6, zero: 7, shape: [], defaultType: .uint8)
        guard aQuant.channelCount == 1, bQuant.channelCount == 1, outQuant.channelCount == 1 else { throw fail("QLinearAdd needs per-tensor quantization") }
        guard aQuant.quantizedType == a.type, bQuant.quantizedType == b.type else { throw fail("zero point types differ from the inputs") }
        guard [.uint8, .int8].contains(outQuant.quantizedType) else { throw fail("output must be uint8 or int8") }
        let clamp = try quantizedClamp(outQuant)
        var parameters = rk_qadd_parameters(ratioA: aQuant.scales[0] / outQuant.scales[0], ratioB: bQuant.scales[0] / outQuant.scales[0],
                                            zeroA: aQuant.zeroPoints[0], zeroB: bQuant.zeroPoints[0], zeroOut: outQuant.zeroPoints[0],
                                            lo: clamp.lowerBound, hi: clamp.upperBound)
        if a.shape == b.shape, a.channelsLast == b.channelsLast, a.type == b.type, a.type == outQuant.quantizedType {
            let output = TensorDescriptor(type: a.type, shape: a.shape, channelsLast: a.channelsLast)
            let count = Int64(a.count), signed: Int32 = a.type == .int8 ? 1 : 0
            return LoweredNode(outputs: [output]) { bindings in
                let x = bindings.inputs[0]!, y = bindings.inputs[3]!, out = bindings.outputs[0]
                return { rk_qadd(count, x, y, signed, &parameters, out) }
            }
        }
        // Broadcasting or mixed types (NCHW, arranged by the planner): index arithmetic per element.
        let (shape, aStrides, bStrides) = try broadcast(a.shape, b.shape)
        let rank = shape.count
        // Same shapes in one layout stay in it (the index arithmetic is then the identity).
        let output = TensorDescriptor(type: outQuant.quantizedType, shape: shape, channelsLast: a.shape == b.shape && a.channelsLast && b.channelsLast)
        let count = output.count, aSigned = a.type == .int8, bSigned = b.type == .int8, outSigned = outQuant.quantizedType == .int8
        let lo = Float(clamp.lowerBound - parameters.zeroOut), hi = Float(clamp.upperBound - parameters.zeroOut)
        return LoweredNode(outputs: [output]) { bindings in
            let x = bindings.inputs[0]!, y = bindings.inputs[3]!, out = bindings.outputs[0]
            return {
                for index in 0..<count {
                    var remainder = index, xOffset = 0, yOffset = 0
                    for axis in stride(from: rank - 1, through: 0, by: -1) {
                        let position = remainder % shape[axis]
                        remainder /= shape[axis]
                        xOffset += position * aStrides[axis]
                        yOffset += position * bStrides[axis]
                    }
                    let p = aSigned ? Float(x.load(fromByteOffset: xOffset, as: Int8.self)) : Float(x.load(fromByteOffset: xOffset, as: UInt8.self))
                    let q = bSigned ? Float(y.load(fromByteOffset: yOffset, as: Int8.self)) : Float(y.load(fromByteOffset: yOffset, as: UInt8.self))
                    let sum = (p - Float(parameters.zeroA)) * parameters.ratioA + (q - Float(parameters.zeroB)) * parameters.ratioB
                    let value = Int32(min(max(sum, lo), hi).rounded(.toNearestOrEven)) + parameters.zeroOut
                    if outSigned { out.storeBytes(of: Int8(truncatingIfNeeded: value), toByteOffset: index, as: Int8.self) }
                    else { out.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self) }
                }
            }
        }
    }
}

/// A direct (1x1, stride 1, unpadded) integer convolution: a matrix product over any run of whole pixels,
/// so the plan can also run it a few image rows at a time (`BandedPair`).
final class PointwiseKernel {
    let inChannels: Int32, outChannels: Int32
    private let flip: UInt8
    private let packed: Pinned<Int8>, adjustedBias: Pinned<Int32>
    private let stage: Pinned<rk_requant>
    /// The stage points into it.
    private let multipliers: Pinned<Float>
    private let pool: OpaquePointer?

    init(inChannels: Int32, outChannels: Int32, flip: UInt8, packed: Pinned<Int8>, adjustedBias: Pinned<Int32>, stage: rk_requant,
         multipliers: Pinned<Float>, pool: OpaquePointer?) {
        (self.inChannels, self.outChannels, self.flip, self.packed, self.adjustedBias) = (inChannels, outChannels, flip, packed, adjustedBias)
        (self.stage, self.multipliers, self.pool) = (Pinned([stage]), multipliers, pool)
    }

    /// Computes `pixels` output pixels (NHWC rows of `outChannels` bytes) from as many input pixels.
    func run(pixels: Int32, input: UnsafePointer<UInt8>, output: UnsafeMutableRawPointer) {
        rk_qgemm_u8s8_parallel(pool, pixels, outChannels, inChannels, input, Int64(inChannels), flip, packed.pointer, adjustedBias.pointer,
                               output, Int64(outChannels), stage.pointer)
    }
}

/// An integer depthwise convolution over NHWC bytes, run for any geometry derived from its own (the plan's
/// bands pass fewer rows with the top padding shifted).
final class DepthwiseKernel {
    /// The whole layer's geometry.
    let geometry: Pinned<rk_conv_geometry>
    /// Scratch per thread, and for all the pool's threads.
    let threadScratch: Int, scratchBytes: Int
    private let signedInput: Bool, zero: Int32
    private let weights: Pinned<Int32>, bias: Pinned<Int32>
    private let operands: Pinned<rk_depthwise_packed>, stage: Pinned<rk_requant>
    /// What `operands` and `stage` point into.
    private let keepAlive: [AnyObject]
    private let pool: OpaquePointer?

    init(geometry: rk_conv_geometry, signedInput: Bool, zero: Int32, weights: Pinned<Int32>, bias: Pinned<Int32>, operands: rk_depthwise_packed,
         stage: rk_requant, threadScratch: Int, pool: OpaquePointer?, keepAlive: [AnyObject]) {
        self.geometry = Pinned([geometry])
        (self.signedInput, self.zero, self.weights, self.bias) = (signedInput, zero, weights, bias)
        (self.operands, self.stage, self.keepAlive, self.pool) = (Pinned([operands]), Pinned([stage]), keepAlive, pool)
        self.threadScratch = threadScratch
        scratchBytes = threadScratch * Int(rk_pool_threads(pool))
    }

    /// Output rows split across the pool's threads; `scratch` holds `scratchBytes`.
    func run(_ geometry: UnsafePointer<rk_conv_geometry>, input: UnsafeRawPointer, output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer) {
        rk_qdepthwise_nhwc_parallel(pool, geometry, input, signedInput ? 1 : 0, zero, weights.pointer, bias.pointer, operands.pointer, output,
                                    stage.pointer, scratch, Int64(threadScratch))
    }
}

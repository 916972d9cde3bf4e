import CInferenceKernels
import Foundation
import ONNX

/// A pointwise (1x1) integer convolution and the depthwise convolution that alone reads its output, run as
/// one step, band by band of output rows.
///
/// Why: peak memory. In an inverted-residual block (MobileNetV2, V3) the 1x1 convolution expands the
/// channels six-fold and only the depthwise convolution reads that expansion. Materialised, it is the
/// largest activation of the network and, live together with the depthwise output, sets the arena's size
/// (MobileNetV2 224: 112x112x96 bytes, 1.2 MB). Banded, only the expanded rows one band of depthwise output
/// needs exist at a time, in a buffer of a few rows. Rows two consecutive bands share (the kernel's halo)
/// are moved to the top of the buffer rather than computed twice.
///
/// Results are bit-identical to running the two steps whole: the same kernels compute every pixel with the
/// same arithmetic; only which rows are computed when changes.
struct BandedPair {
    /// Depthwise output rows per band. Eight keeps the buffer at 10 expanded rows (17 for stride 2), 183 KB
    /// for MobileNetV2 224's widest expansion (112 x 96 bytes a row) instead of its 1.2 MB, while each band's
    /// two kernel calls (and pool hand-offs, a few microseconds each) still get at least eight rows of work.
    static let defaultOutputRows = 8

    /// What one band does, all offsets in bytes and fixed at plan time.
    private struct Band {
        /// Rows the previous band computed that this one needs again: moved from `keptFrom` to the top.
        var keptFrom: Int, keptBytes: Int
        /// New expanded rows: `pixels` pixels read at `inputOffset`, written after the kept rows.
        var inputOffset: Int, pixels: Int32, bufferOffset: Int
        /// Where this band's depthwise output rows go.
        var outputOffset: Int
    }

    private let pointwise: PointwiseKernel
    private let depthwise: DepthwiseKernel
    private let bands: [Band]
    /// The depthwise geometry of each band: its rows of input in the buffer, its output rows.
    private let geometries: Pinned<rk_conv_geometry>
    /// The band buffer: the most expanded rows a band needs.
    let bufferBytes: Int

    /// Nil when a band would need every row of the expansion (nothing to save) or the shapes do not chain.
    init?(pointwise: PointwiseKernel, depthwise: DepthwiseKernel, outputRows: Int = defaultOutputRows) {
        let g = depthwise.geometry.pointer.pointee
        let outHeight = Int(g.outHeight), height = Int(g.inHeight), width = Int(g.inWidth), channels = Int(g.inChannels)
        guard outputRows >= 1, pointwise.outChannels == g.inChannels else { return nil }
        let stride = Int(g.strideHeight), padTop = Int(g.padTop), extent = Int(g.kernelHeight - 1) * Int(g.dilationHeight) + 1
        let rowBytes = width * channels, inputRowBytes = width * Int(pointwise.inChannels)
        var bands: [Band] = [], geometries: [rk_conv_geometry] = []
        var previous = (first: 0, end: 0)   // input rows [first, end) in the buffer
        var largest = 0
        for firstOutput in Swift.stride(from: 0, to: outHeight, by: outputRows) {
            let endOutput = min(firstOutput + outputRows, outHeight)
            // Input rows the band's taps reach inside the image; rows outside are padding.
            let first = max(0, firstOutput * stride - padTop), end = min(height, (endOutput - 1) * stride - padTop + extent)
            guard end > first else { return nil }
            let kept = max(0, min(end, previous.end) - first)
            let computedFrom = first + kept
            bands.append(Band(keptFrom: (first - previous.first) * rowBytes, keptBytes: kept * rowBytes,
                              inputOffset: computedFrom * inputRowBytes, pixels: Int32((end - computedFrom) * width),
                              bufferOffset: kept * rowBytes, outputOffset: firstOutput * Int(g.outWidth) * Int(g.outChannels)))
            // Buffer row r is image row first + r: the top padding moves by the rows skipped.
            var band = g
            band.inHeight = Int32(end - first)
            band.outHeight = Int32(endOutput - firstOutput)
            band.padTop = Int32(padTop - firstOutput * stride + first)
            band.padBottom = Int32((endOutput - firstOutput - 1) * stride + extent - (end - first)) - band.padTop
            geometries.append(band)
            largest = max(largest, end - first)
            previous = (first, end)
        }
        // A buffer as tall as the image saves nothing.
        guard largest < height else { return nil }
        self.pointwise = pointwise
        self.depthwise = depthwise
        self.bands = bands
        self.geometries = Pinned(geometries)
        bufferBytes = largest * rowBytes
    }

    /// The fused step: reads the pointwise input, writes the depthwise output. Its scratch holds the
    /// depthwise kernel's per-thread areas, then the band buffer (with the 64 spare bytes every arena value
    /// gets for the kernels' four-byte reads).
    func lowered(outputs: [TensorDescriptor], detail: String) -> LoweredNode {
        let (pointwise, depthwise, bands, geometries) = (pointwise, depthwise, bands, geometries)
        let bufferStart = aligned(depthwise.scratchBytes)
        return LoweredNode(outputs: outputs, scratchBytes: bufferStart + aligned(bufferBytes) + 64, detail: detail,
                           readsConstantInputs: false) { bindings in
            let input = UnsafePointer(bindings.inputs[0]!.assumingMemoryBound(to: UInt8.self)), output = bindings.outputs[0]
            let scratch = bindings.scratch!, buffer = scratch + bufferStart
            return {
                for index in 0..<bands.count {
                    let band = bands[index]
                    if band.keptBytes > 0, band.keptFrom > 0 { memmove(buffer, buffer + band.keptFrom, band.keptBytes) }
                    if band.pixels > 0 { pointwise.run(pixels: band.pixels, input: input + band.inputOffset, output: buffer + band.bufferOffset) }
                    depthwise.run(geometries.pointer + index, input: buffer, output: output + band.outputOffset, scratch: scratch)
                }
            }
        }
    }

    /// Replaces every pointwise step followed by a depthwise step reading its output, when nothing else reads
    /// that output and it is not a graph output, with one banded step (`outputRows` depthwise rows a band).
    static func fuse(nodes: inout [ONNXNode], lowered: inout [LoweredNode], graphOutputs: Set<String>, outputRows: Int = defaultOutputRows) {
        var readers: [String: Int] = [:]
        for node in nodes { for input in node.inputs where !input.isEmpty { readers[input, default: 0] += 1 } }
        var index = 0
        while index + 1 < nodes.count {
            defer { index += 1 }
            guard case .pointwise(let pointwise)? = lowered[index].banding, case .depthwise(let depthwise)? = lowered[index + 1].banding else { continue }
            let (producer, consumer) = (nodes[index], nodes[index + 1])
            guard producer.outputs.count == 1, let value = producer.outputs.first, !value.isEmpty, consumer.inputs.first == value,
                  readers[value] == 1, !graphOutputs.contains(value), let input = producer.inputs.first,
                  let pair = BandedPair(pointwise: pointwise, depthwise: depthwise, outputRows: outputRows) else { continue }
            nodes[index] = ONNXNode(name: "\(producer.name)+\(consumer.name)", opType: consumer.opType, domain: consumer.domain,
                                    inputs: [input], outputs: consumer.outputs)
            lowered[index] = pair.lowered(outputs: lowered[index + 1].outputs,
                                          detail: "banded \(lowered[index].detail) + \(lowered[index + 1].detail)")
            nodes.remove(at: index + 1)
            lowered.remove(at: index + 1)
        }
    }
}

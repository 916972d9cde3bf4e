import ONNX

/// Scale and zero point of a QuantizeLinear / DequantizeLinear, per tensor or per axis, checked once.
struct QuantizationParameters {
    var scales: [Float]
    var zeroPoints: [Int32]
    /// The element type of the quantized side (from the zero point; uint8 when absent).
    var quantizedType: ONNXElementType
    /// Normalised axis for per-axis parameters, nil per tensor.
    var axis: Int?

    var channelCount: Int { scales.count }

    init(scale: ONNXTensor, zeroPoint: ONNXTensor?, axisAttribute: ONNXAttribute?, shape: [Int], node: ONNXNode,
         defaultType: ONNXElementType = .uint8) throws(InferenceError) {
        func fail(_ reason: String) -> InferenceError { .invalidNode(op: node.opType, node: node.name, reason: reason) }
        guard scale.elementType == .float32 else { throw fail("scale must be float32") }
        scales = scale.floats
        guard !scales.isEmpty else { throw fail("empty scale") }
        for value in scales where !(value > 0 && value.isFinite) {
            throw fail("scale \(value) is not a positive finite number")
        }
        if let zeroPoint {
            guard zeroPoint.count == scales.count else { throw fail("\(zeroPoint.count) zero points for \(scales.count) scales") }
            guard [.uint8, .int8, .int32].contains(zeroPoint.elementType), let values = zeroPoint.integers else {
                throw fail("zero point type \(zeroPoint.elementType) is not supported")
            }
            quantizedType = zeroPoint.elementType
            zeroPoints = values.map { Int32(truncatingIfNeeded: $0) }
            if quantizedType == .int32, zeroPoints.contains(where: { $0 != 0 }) { throw fail("int32 zero point must be 0") }
        } else {
            quantizedType = defaultType
            zeroPoints = [Int32](repeating: 0, count: scales.count)
        }
        if scales.count == 1 && scale.shape.count <= 1 {
            axis = nil
        } else {
            var value = 1
            if case .int(let attribute)? = axisAttribute { value = Int(attribute) }
            if value < 0 { value += shape.count }
            guard value >= 0, value < shape.count, shape[value] == scales.count else {
                throw fail("per-axis scale of \(scales.count) values does not match axis \(value) of shape \(shape)")
            }
            axis = value
        }
    }

    /// Number of elements after the quantization axis (1 per tensor).
    func inner(shape: [Int]) -> Int {
        guard let axis else { return 1 }
        return shape[(axis + 1)...].reduce(1, *)
    }

    /// Quantized range of the element type.
    var range: ClosedRange<Int32> {
        switch quantizedType {
        case .int8: -128...127
        case .int32: Int32.min...Int32.max
        default: 0...255
        }
    }
}

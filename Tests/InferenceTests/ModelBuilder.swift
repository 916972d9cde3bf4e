import Foundation
import ONNX
import SwiftProtobuf

/// Builds small ONNX models in the tests with the generated protobuf types, to exercise the loader's
/// error paths (what the Python fixtures cannot produce: broken and hostile models).
struct ModelBuilder {
    var proto = Onnx_ModelProto()

    init(opset: Int64 = 17, inputShape: [Int64] = [1, 4]) {
        proto.irVersion = 8
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        proto.opsetImport = [opsetID]
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.input = [Self.valueInfo("input", shape: inputShape)]
        graph.output = [Self.valueInfo("output", shape: nil)]
        proto.graph = graph
    }

    static func valueInfo(_ name: String, shape: [Int64]?) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = 1
        if let shape {
            var shapeProto = Onnx_TensorShapeProto()
            shapeProto.dim = shape.map { value in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = value
                return dim
            }
            tensorType.shape = shapeProto
        }
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        info.type = type
        return info
    }

    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String? = nil, domain: String = "",
                       attributes: [Onnx_AttributeProto] = []) {
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = name ?? op
        node.domain = domain
        node.input = inputs
        node.output = outputs
        node.attribute = attributes
        proto.graph.node.append(node)
    }

    mutating func floats(_ name: String, _ values: [Float], shape: [Int64]) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = 1
        tensor.dims = shape
        tensor.floatData = values
        proto.graph.initializer.append(tensor)
    }

    mutating func raw(_ name: String, type: Int32, bytes: [UInt8], shape: [Int64]) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = type
        tensor.dims = shape
        tensor.rawData = Data(bytes)
        proto.graph.initializer.append(tensor)
    }

    static func attribute(_ name: String, int value: Int64) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = value
        return attribute
    }

    static func attribute(_ name: String, string value: String) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .string
        attribute.s = Data(value.utf8)
        return attribute
    }

    func bytes() throws -> Data { try proto.serializedData() }

    func model() throws -> ONNXModel { try ONNXModel(bytes: bytes()) }
}

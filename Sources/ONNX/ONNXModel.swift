import Foundation
import SwiftProtobuf

/// Limits applied while reading a model file; everything in a model is untrusted input.
public struct ONNXLimits: Sendable, Equatable {
    /// Largest model file accepted, in bytes.
    public var maximumFileBytes: Int = 256 << 20
    /// Largest number of elements in one tensor (initializer or declared value).
    public var maximumTensorElements: Int = 64 << 20
    /// Largest number of nodes in the graph.
    public var maximumNodes: Int = 100_000
    /// Largest rank of a tensor.
    public var maximumRank: Int = 8

    public init() {}
}

/// Why a model could not be loaded. Every case names what was wrong and where.
public enum ONNXError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    case tooLarge(bytes: Int, limit: Int)
    case malformed(reason: String)
    case unsupportedOpset(domain: String, version: Int64)
    case missingOpset
    case externalData(tensor: String)
    case badTensor(name: String, reason: String)
    case badGraph(reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read model \(path): \(reason)"
        case .tooLarge(let bytes, let limit): "model is \(bytes) bytes, over the limit of \(limit)"
        case .malformed(let reason): "not a valid ONNX model: \(reason)"
        case .unsupportedOpset(let domain, let version):
            "unsupported opset \(version) for domain '\(domain.isEmpty ? "ai.onnx" : domain)' (supported: ai.onnx \(ONNXModel.supportedOpsets.lowerBound) to \(ONNXModel.supportedOpsets.upperBound), com.microsoft 1)"
        case .missingOpset: "model declares no ai.onnx opset"
        case .externalData(let tensor): "tensor '\(tensor)' keeps its data in an external file; external data is not supported (save the model with the weights inside)"
        case .badTensor(let name, let reason): "tensor '\(name)': \(reason)"
        case .badGraph(let reason): "graph: \(reason)"
        }
    }
}

/// Element types the runtime understands.
public enum ONNXElementType: Int32, Sendable, Equatable {
    case float32 = 1
    case uint8 = 2
    case int8 = 3
    case int32 = 6
    case int64 = 7

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .uint8, .int8: 1
        case .int64: 8
        }
    }
}

/// A constant tensor from the model (initializer, Constant node or tensor attribute).
public struct ONNXTensor: Sendable, Equatable {
    /// The element values, in row-major order.
    public enum Values: Sendable, Equatable {
        case float32([Float])
        case uint8([UInt8])
        case int8([Int8])
        case int32([Int32])
        case int64([Int64])
    }

    public var name: String
    public var shape: [Int]
    public var values: Values

    public init(name: String, shape: [Int], values: Values) {
        self.name = name
        self.shape = shape
        self.values = values
    }

    public var elementType: ONNXElementType {
        switch values {
        case .float32: .float32
        case .uint8: .uint8
        case .int8: .int8
        case .int32: .int32
        case .int64: .int64
        }
    }

    public var count: Int { shape.reduce(1, *) }

    /// All values widened to Float (exact for the integer types used in quantized models).
    public var floats: [Float] {
        switch values {
        case .float32(let v): v
        case .uint8(let v): v.map(Float.init)
        case .int8(let v): v.map(Float.init)
        case .int32(let v): v.map(Float.init)
        case .int64(let v): v.map(Float.init)
        }
    }

    /// All values as Int64, or nil for floating-point tensors.
    public var integers: [Int64]? {
        switch values {
        case .float32: nil
        case .uint8(let v): v.map(Int64.init)
        case .int8(let v): v.map(Int64.init)
        case .int32(let v): v.map(Int64.init)
        case .int64(let v): v
        }
    }
}

/// One attribute value of a node.
public enum ONNXAttribute: Sendable, Equatable {
    case int(Int64)
    case float(Float)
    case string(String)
    case ints([Int64])
    case floats([Float])
    case tensor(ONNXTensor)
    case other(String)
}

/// One node of the graph.
public struct ONNXNode: Sendable, Equatable {
    public var name: String
    public var opType: String
    /// Empty for the default ai.onnx domain.
    public var domain: String
    /// Input value names; an empty string marks an omitted optional input.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: ONNXAttribute]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String], attributes: [String: ONNXAttribute] = [:]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}

/// A graph input or output: name, element type and shape (nil for a symbolic dimension).
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elementType: ONNXElementType?
    public var shape: [Int?]?
}

/// An ONNX model reduced to what the runtime needs, read and checked from protobuf bytes.
public struct ONNXModel: Sendable {
    /// The ai.onnx opset the graph was written against.
    public var opsetVersion: Int64
    public var producer: String
    public var nodes: [ONNXNode]
    public var initializers: [String: ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    /// `metadata_props` of the model (labels, mean, std, resize...).
    public var metadata: [String: String]

    /// From 13 (Softmax's current semantics, per-axis quantization) to 24, the newest the pinned onnx
    /// package (1.19.1, scripts/testing/requirements-test.txt) writes. What each implemented operator became in
    /// between, and which of those changes are refused per node, is Inference's OperatorHistory.
    public static let supportedOpsets: ClosedRange<Int64> = 13...24

    /// Reads a model file.
    public init(path: String, limits: ONNXLimits = ONNXLimits()) throws(ONNXError) {
        let bytes: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > limits.maximumFileBytes {
                throw ONNXError.tooLarge(bytes: size, limit: limits.maximumFileBytes)
            }
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ONNXError {
            throw error
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(bytes: consume bytes, limits: limits)
    }

    /// Reads a model from its serialized protobuf bytes.
    ///
    /// Memory: the bytes (when the caller hands over its last reference) are let go once decoded, and
    /// each tensor's decoded raw_data once it is converted, so a model's weights are held about twice at
    /// most, not four times (file, message, converted values, and the planner's packed copy).
    public init(bytes: consuming Data, limits: ONNXLimits = ONNXLimits()) throws(ONNXError) {
        guard bytes.count <= limits.maximumFileBytes else {
            throw .tooLarge(bytes: bytes.count, limit: limits.maximumFileBytes)
        }
        var proto: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            proto = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw .malformed(reason: "\(error)")
        }
        guard proto.hasGraph else { throw .malformed(reason: "no graph") }

        var opset: Int64?
        for entry in proto.opsetImport {
            switch entry.domain {
            case "", "ai.onnx":
                guard Self.supportedOpsets.contains(entry.version) else {
                    throw .unsupportedOpset(domain: entry.domain, version: entry.version)
                }
                opset = entry.version
            case "com.microsoft":
                guard entry.version == 1 else { throw .unsupportedOpset(domain: entry.domain, version: entry.version) }
            default:
                // Other domains are only a problem if a node uses them; the planner names that node.
                break
            }
        }
        guard let opset else { throw .missingOpset }
        opsetVersion = opset
        producer = proto.producerName

        var metadata: [String: String] = [:]
        for entry in proto.metadataProps { metadata[entry.key] = entry.value }
        self.metadata = metadata

        // The graph alone from here, its initializer list taken out of it, so each decoded tensor is the
        // only reference to its raw_data and goes as soon as it is converted.
        var graph = proto.graph
        proto = Onnx_ModelProto()
        guard graph.node.count <= limits.maximumNodes else {
            throw .badGraph(reason: "\(graph.node.count) nodes, over the limit of \(limits.maximumNodes)")
        }
        var tensors = graph.initializer
        graph.initializer = []
        var initializers: [String: ONNXTensor] = [:]
        for index in tensors.indices {
            let converted = try Self.convert(tensors[index], limits: limits)
            tensors[index] = Onnx_TensorProto()
            guard initializers[converted.name] == nil else { throw .badGraph(reason: "initializer '\(converted.name)' defined twice") }
            initializers[converted.name] = converted
        }
        if !graph.sparseInitializer.isEmpty { throw .badGraph(reason: "sparse initializers are not supported") }
        self.initializers = initializers

        var nodes: [ONNXNode] = []
        nodes.reserveCapacity(graph.node.count)
        for (index, node) in graph.node.enumerated() {
            var attributes: [String: ONNXAttribute] = [:]
            let name = node.name.isEmpty ? "\(node.opType)#\(index)" : node.name
            for attribute in node.attribute {
                attributes[attribute.name] = try Self.convert(attribute, node: name, limits: limits)
            }
            nodes.append(ONNXNode(name: name, opType: node.opType, domain: node.domain == "ai.onnx" ? "" : node.domain,
                                  inputs: node.input, outputs: node.output, attributes: attributes))
        }
        self.nodes = nodes
        inputs = try graph.input.filter { initializers[$0.name] == nil }.map { info throws(ONNXError) in try Self.convert(info, limits: limits) }
        outputs = try graph.output.map { info throws(ONNXError) in try Self.convert(info, limits: limits) }
    }

    static func convert(_ info: Onnx_ValueInfoProto, limits: ONNXLimits) throws(ONNXError) -> ONNXValueInfo {
        guard info.type.tensorType.hasElemType else { return ONNXValueInfo(name: info.name, elementType: nil, shape: nil) }
        let tensorType = info.type.tensorType
        let elementType = ONNXElementType(rawValue: tensorType.elemType)
        guard tensorType.hasShape else { return ONNXValueInfo(name: info.name, elementType: elementType, shape: nil) }
        guard tensorType.shape.dim.count <= limits.maximumRank else {
            throw .badTensor(name: info.name, reason: "rank \(tensorType.shape.dim.count) over the limit of \(limits.maximumRank)")
        }
        var shape: [Int?] = []
        for dim in tensorType.shape.dim {
            if case .dimValue(let value)? = dim.value {
                guard value >= 0, value <= Int64(limits.maximumTensorElements) else {
                    throw .badTensor(name: info.name, reason: "dimension \(value) out of range")
                }
                shape.append(Int(value))
            } else {
                shape.append(nil)
            }
        }
        return ONNXValueInfo(name: info.name, elementType: elementType, shape: shape)
    }

    static func convert(_ attribute: Onnx_AttributeProto, node: String, limits: ONNXLimits) throws(ONNXError) -> ONNXAttribute {
        switch attribute.type {
        case .int: return .int(attribute.i)
        case .float: return .float(attribute.f)
        case .string: return .string(String(decoding: attribute.s, as: UTF8.self))
        case .ints: return .ints(attribute.ints)
        case .floats: return .floats(attribute.floats)
        case .tensor:
            var tensor = attribute.t
            if tensor.name.isEmpty { tensor.name = "\(node).\(attribute.name)" }
            return .tensor(try convert(tensor, limits: limits))
        default: return .other("\(attribute.type)")
        }
    }

    /// Converts a TensorProto, reading raw_data (little-endian) or the typed repeated fields.
    static func convert(_ tensor: Onnx_TensorProto, limits: ONNXLimits) throws(ONNXError) -> ONNXTensor {
        let name = tensor.name
        if tensor.dataLocation == .external || !tensor.externalData.isEmpty { throw .externalData(tensor: name) }
        guard tensor.dims.count <= limits.maximumRank else { throw .badTensor(name: name, reason: "rank \(tensor.dims.count) over the limit") }
        var count = 1
        for dim in tensor.dims {
            guard dim >= 0, dim <= Int64(limits.maximumTensorElements) else { throw .badTensor(name: name, reason: "dimension \(dim) out of range") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= limits.maximumTensorElements else {
                throw .badTensor(name: name, reason: "more than \(limits.maximumTensorElements) elements")
            }
            count = product
        }
        let shape = tensor.dims.map { Int($0) }
        guard let type = ONNXElementType(rawValue: tensor.dataType) else {
            throw .badTensor(name: name, reason: "unsupported element type \(tensor.dataType)")
        }
        let raw = tensor.hasRawData ? tensor.rawData : nil
        if let raw, raw.count != count * type.byteSize {
            throw .badTensor(name: name, reason: "raw_data has \(raw.count) bytes, shape needs \(count * type.byteSize)")
        }
        func check(_ typedCount: Int) throws(ONNXError) {
            guard typedCount == count else { throw .badTensor(name: name, reason: "\(typedCount) values for a shape of \(count) elements") }
        }
        let values: ONNXTensor.Values
        switch type {
        case .float32:
            if let raw { values = .float32(Self.littleEndian(raw, as: UInt32.self) { Float(bitPattern: $0) }) } else {
                try check(tensor.floatData.count); values = .float32(tensor.floatData)
            }
        case .int32:
            if let raw { values = .int32(Self.littleEndian(raw, as: UInt32.self) { Int32(bitPattern: $0) }) } else {
                try check(tensor.int32Data.count); values = .int32(tensor.int32Data)
            }
        case .int64:
            if let raw { values = .int64(Self.littleEndian(raw, as: UInt64.self) { Int64(bitPattern: $0) }) } else {
                try check(tensor.int64Data.count); values = .int64(tensor.int64Data)
            }
        case .uint8:
            if let raw { values = .uint8(Self.bytes(raw)) } else {
                try check(tensor.int32Data.count)
                // Typed uint8 values travel in int32_data; anything outside 0...255 is corrupt.
                var out: [UInt8] = []
                out.reserveCapacity(count)
                for value in tensor.int32Data {
                    guard let byte = UInt8(exactly: value) else { throw .badTensor(name: name, reason: "uint8 value \(value) out of range") }
                    out.append(byte)
                }
                values = .uint8(out)
            }
        case .int8:
            if let raw { values = .int8(Self.bytes(raw)) } else {
                try check(tensor.int32Data.count)
                var out: [Int8] = []
                out.reserveCapacity(count)
                for value in tensor.int32Data {
                    guard let byte = Int8(exactly: value) else { throw .badTensor(name: name, reason: "int8 value \(value) out of range") }
                    out.append(byte)
                }
                values = .int8(out)
            }
        }
        return ONNXTensor(name: name, shape: shape, values: values)
    }

    /// Decodes raw_data as little-endian words of `Word`'s width (the caller checked the byte count). One bulk
    /// copy and one map: weight tensors run to millions of elements, and a per-byte loop was a third of a
    /// cold `remotaird classify`.
    /// `make` reinterprets the word's bits (`Float(bitPattern:)` and the like), so on little-endian machines
    /// the bytes already are the values and are copied once, straight into the result.
    static func littleEndian<Word: FixedWidthInteger, T: BitwiseCopyable>(_ raw: Data, as _: Word.Type, _ make: (Word) -> T) -> [T] {
        #if _endian(little)
        if MemoryLayout<T>.stride == MemoryLayout<Word>.stride {
            return [T](unsafeUninitializedCapacity: raw.count / MemoryLayout<T>.stride) { buffer, initialized in
                initialized = raw.copyBytes(to: UnsafeMutableRawBufferPointer(buffer)) / MemoryLayout<T>.stride
            }
        }
        #endif
        let words = [Word](unsafeUninitializedCapacity: raw.count / MemoryLayout<Word>.size) { buffer, initialized in
            initialized = raw.copyBytes(to: UnsafeMutableRawBufferPointer(buffer)) / MemoryLayout<Word>.size
        }
        return words.map { make(Word(littleEndian: $0)) }
    }

    /// raw_data as one-byte elements, copied in bulk.
    static func bytes<Byte: FixedWidthInteger>(_ raw: Data) -> [Byte] {
        [Byte](unsafeUninitializedCapacity: raw.count) { buffer, initialized in
            initialized = raw.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}

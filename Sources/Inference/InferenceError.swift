import ONNX

/// Why a model could not be loaded or an input not be run. Each case names what and where.
public enum InferenceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The model file itself is unreadable or invalid.
    case model(ONNXError)
    /// A node uses an operator this runtime does not implement.
    case unsupportedOperator(op: String, domain: String, node: String)
    /// A node uses an attribute value this runtime does not implement.
    case unsupportedAttribute(op: String, node: String, attribute: String, value: String)
    /// A node relies on a change of its operator, since opset `since`, that this runtime does not implement.
    case unsupportedOpsetChange(op: String, node: String, opset: Int64, since: Int64, change: String)
    /// A node's inputs, shapes or parameters are inconsistent.
    case invalidNode(op: String, node: String, reason: String)
    /// The graph as a whole is unusable (cycle, undefined value, several inputs...).
    case invalidGraph(String)
    /// The activations would need more memory than the configured limit.
    case arenaLimit(bytes: Int, limit: Int)
    /// The input given to `run` does not match the model.
    case inputMismatch(String)
    /// An image could not be decoded or preprocessed.
    case image(String)
    /// A NumPy .npy file is not a float32 C-order array.
    case npy(String)

    public var description: String {
        switch self {
        case .model(let error): error.description
        case .unsupportedOperator(let op, let domain, let node):
            "unsupported operator \(domain.isEmpty ? "" : domain + ".")\(op) (node '\(node)')"
        case .unsupportedAttribute(let op, let node, let attribute, let value):
            "unsupported attribute \(attribute)=\(value) on \(op) (node '\(node)')"
        case .unsupportedOpsetChange(let op, let node, let opset, let since, let change):
            "unsupported \(op) (node '\(node)') in a model of ai.onnx opset \(opset): \(change), a change of opset \(since), is not implemented"
        case .invalidNode(let op, let node, let reason): "\(op) node '\(node)': \(reason)"
        case .invalidGraph(let reason): "invalid graph: \(reason)"
        case .arenaLimit(let bytes, let limit):
            "model needs \(bytes / 1024) KiB of activation memory, over the arena limit of \(limit / 1024) KiB (inference.arena_limit_mb)"
        case .inputMismatch(let reason): "input: \(reason)"
        case .image(let reason): "image: \(reason)"
        case .npy(let reason): "npy: \(reason)"
        }
    }
}

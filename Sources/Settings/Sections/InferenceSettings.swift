/// The `inference` section of the configuration: which model the classifier runs and how.
/// Everything is optional: by default the model named by `Calibration/classifier.yaml` runs on one
/// thread with its own metadata (labels, mean, std, resize).
public struct InferenceSettings: Sendable, Equatable {
    /// Path of an ONNX model that overrides the one in `Calibration/classifier.yaml`.
    public var model: String?
    /// Threads per inference: above 1, the integer convolutions split their pixels or output rows across a
    /// pool of that many threads (the caller's included) that the classifier starts once.
    public var threads: Int
    /// Largest activation arena a model may need, in MiB; a model needing more is refused at load.
    public var arenaLimitMB: Int
    /// Class names in output order, overriding the model's `labels` metadata.
    public var labels: [String]?
    /// Per-channel RGB mean on the 0...1 scale, overriding the model's `mean` metadata.
    public var mean: [Double]?
    /// Per-channel RGB standard deviation on the 0...1 scale, overriding the model's `std` metadata.
    public var std: [Double]?
    /// How a frame becomes the model's input size, overriding the model's `resize` metadata.
    public var resize: ResizeMode?

    /// `stretch` resizes the whole frame to the input size; `center_crop` first crops the largest centred
    /// region with the input's aspect ratio.
    public enum ResizeMode: String, Sendable, Equatable, CaseIterable {
        case stretch
        case centerCrop = "center_crop"
    }

    public init(model: String? = nil, threads: Int = 1, arenaLimitMB: Int = 64, labels: [String]? = nil,
                mean: [Double]? = nil, std: [Double]? = nil, resize: ResizeMode? = nil) {
        self.model = model
        self.threads = threads
        self.arenaLimitMB = arenaLimitMB
        self.labels = labels
        self.mean = mean
        self.std = std
        self.resize = resize
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        model = try map.optional("model")?.path()
        threads = try map.int("threads", default: 1, in: 1...64)
        arenaLimitMB = try map.int("arena_limit_mb", default: 64, in: 1...4096)
        if let node = map.optional("labels") {
            let values = try node.list().map { item throws(ConfigurationError) in try item.string() }
            guard values.count >= 1, Set(values).count == values.count else { throw node.error(.invalid("labels must be distinct and not empty")) }
            labels = values
        }
        mean = try Self.triple(map.optional("mean"), range: 0...1)
        std = try Self.triple(map.optional("std"), range: 0.000_001...10)
        resize = try map.optional("resize").map { node throws(ConfigurationError) in
            ResizeMode(rawValue: try node.oneOf(ResizeMode.allCases.map(\.rawValue))) ?? .stretch
        }
    }

    private static func triple(_ node: ConfigNode?, range: ClosedRange<Double>) throws(ConfigurationError) -> [Double]? {
        guard let node else { return nil }
        let values = try node.list().map { item throws(ConfigurationError) in try item.double(in: range) }
        guard values.count == 3 else { throw node.error(.invalid("expected three values (R, G, B), got \(values.count)")) }
        return values
    }
}

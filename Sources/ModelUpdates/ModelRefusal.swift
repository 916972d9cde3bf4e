/// Why a board refused a model bundle: one typed reason, logged once per version and kept for
/// `remotairctl status` and `remotairctl model`.
public enum ModelRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bundle file, the manifest or the pointer is not what the format says.
    case malformed(file: String, problem: String)
    /// No configured key made this signature (`keyID`: the manifest's claim of who signed, if it names one).
    case signature(file: String, keyID: String?)
    /// A file listed in the manifest is missing, has another size or another SHA-256.
    case fileDigest(file: String, expected: String, actual: String)
    /// Not newer than the running model, and `allow_downgrade` is off (a replayed older signed bundle).
    case notNewer(version: String, running: String)
    /// The bundle needs a newer remotaird.
    case daemonTooOld(required: String, running: String)
    /// Our runtime cannot load the model (unsupported op, bad graph, too big for the arena).
    case modelLoad(String)
    /// The model's labels, classifier.yaml's and the manifest's are not the same list.
    case labels(model: [String], classifier: [String], manifest: [String])
    /// classifier.yaml in the bundle does not parse or does not match the model.
    case classifier(String)
    /// A reference frame through this board's decode and classify path does not give the trainer's scores.
    case referenceScores(file: String, label: String, expected: Double, actual: Double, tolerance: Double)

    /// Short stable name for logs, status and tests.
    public var code: String {
        switch self {
        case .malformed: "malformed"
        case .signature: "signature"
        case .fileDigest: "file-digest"
        case .notNewer: "not-newer"
        case .daemonTooOld: "daemon-too-old"
        case .modelLoad: "model-load"
        case .labels: "labels"
        case .classifier: "classifier"
        case .referenceScores: "reference-scores"
        }
    }

    public var description: String {
        switch self {
        case let .malformed(file, problem): "\(file): \(problem)"
        case let .signature(file, keyID): "\(file): not signed by any configured public key" + (keyID.map { " (it names key \($0))" } ?? "")
        case let .fileDigest(file, expected, actual): "\(file): expected \(expected), got \(actual)"
        case let .notNewer(version, running): "version \(version) is not newer than the running \(running) (models.allow_downgrade is off)"
        case let .daemonTooOld(required, running): "needs remotaird \(required) or newer; this is \(running)"
        case let .modelLoad(message): "the model does not load in this runtime: \(message)"
        case let .labels(model, classifier, manifest):
            "labels differ: model \(model), classifier.yaml \(classifier), manifest \(manifest)"
        case let .classifier(message): "classifier.yaml: \(message)"
        case let .referenceScores(file, label, expected, actual, tolerance):
            "\(file): \(label) scores \(actual) here, \(expected) on the trainer's onnxruntime (tolerance \(tolerance))"
        }
    }
}

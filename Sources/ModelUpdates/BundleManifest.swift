import Foundation

/// `manifest.json` of a model bundle (written by scripts/toolchain/publish-model): what the board checks
/// before a model decides anything. Parsed only after its signature verified; still validated field by field,
/// because a trusted key can sign a mistake.
public struct BundleManifest: Sendable, Equatable {
    public struct FileEntry: Sendable, Equatable {
        public var sha256: String
        public var size: Int
    }

    public struct Reference: Sendable, Equatable {
        /// Bundle-relative name of a JPEG frame.
        public var file: String
        /// The scores onnxruntime gave on the trainer's machine, by label.
        public var scores: [String: Double]
    }

    public var version: ModelVersion
    public var channel: String
    public var createdAt: String
    public var minimumDaemonVersion: ModelVersion
    /// Bundle-relative names of the model and its classifier.yaml.
    public var model: String
    public var classifier: String
    public var labels: [String]
    public var files: [String: FileEntry]
    public var references: [Reference]
    /// Names the signing key in messages; never trusted (the signature decides).
    public var keyID: String

    /// Largest bundle file the board accepts: the demo model is 3.8 MB; this leaves room for bigger
    /// backbones while a hostile manifest cannot make the board fill its disk.
    public static let maximumFileSize = 64 << 20
    public static let maximumFiles = 48

    public static func parse(_ bytes: Data) throws(ModelRefusal) -> BundleManifest {
        func bad(_ problem: String) -> ModelRefusal { .malformed(file: "manifest.json", problem: problem) }
        guard let object = try? JSONSerialization.jsonObject(with: bytes), let root = object as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard root["format"] as? Int == 1 else { throw bad("format \(root["format"].map { "\($0)" } ?? "missing") is not 1") }
        func string(_ key: String) throws(ModelRefusal) -> String {
            guard let value = root[key] as? String, !value.isEmpty else { throw bad("'\(key)' is missing or not a string") }
            return value
        }
        let versionText = try string("model_version")
        guard let version = ModelVersion(versionText) else { throw bad("model_version '\(versionText)' is not a version") }
        let minimumText = try string("min_daemon_version")
        guard let minimum = ModelVersion(minimumText) else { throw bad("min_daemon_version '\(minimumText)' is not a version") }
        guard let labels = root["labels"] as? [String], labels.count >= 2, Set(labels).count == labels.count else {
            throw bad("labels must be two or more distinct names")
        }
        guard let fileObjects = root["files"] as? [String: Any], (1...maximumFiles).contains(fileObjects.count) else {
            throw bad("files must list 1 to \(maximumFiles) files")
        }
        var files: [String: FileEntry] = [:]
        for (name, value) in fileObjects {
            guard isSafeName(name) else { throw bad("file name '\(name)' is not a plain bundle-relative name") }
            guard let entry = value as? [String: Any], let sha = entry["sha256"] as? String, isHexDigest(sha),
                  let size = entry["size"] as? Int, (0...maximumFileSize).contains(size)
            else { throw bad("files['\(name)'] needs a sha256 (64 hex digits) and a size up to \(maximumFileSize) bytes") }
            files[name] = FileEntry(sha256: sha, size: size)
        }
        let model = try string("model"), classifier = try string("classifier")
        for name in [model, classifier] where files[name] == nil { throw bad("'\(name)' is not listed in files") }
        guard let referenceObjects = root["references"] as? [[String: Any]], !referenceObjects.isEmpty else {
            throw bad("references must list at least one frame")
        }
        var references: [Reference] = []
        for (index, object) in referenceObjects.enumerated() {
            guard let file = object["file"] as? String, files[file] != nil else { throw bad("references[\(index)].file is not listed in files") }
            guard let scores = object["scores"] as? [String: Any], Set(scores.keys) == Set(labels) else {
                throw bad("references[\(index)].scores must give one score per label")
            }
            var values: [String: Double] = [:]
            for (label, value) in scores {
                // JSON true/false also arrive as NSNumber; objCType "c" tells them apart from numbers.
                guard let number = value as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue.isFinite,
                      (0...1).contains(number.doubleValue) else {
                    throw bad("references[\(index)].scores.\(label) is not a probability")
                }
                values[label] = number.doubleValue
            }
            references.append(Reference(file: file, scores: values))
        }
        return BundleManifest(
            version: version, channel: try string("channel"), createdAt: try string("created_at"), minimumDaemonVersion: minimum,
            model: model, classifier: classifier, labels: labels, files: files, references: references,
            keyID: (root["key_id"] as? String) ?? "unnamed")
    }

    /// One or two segments of letters, digits, '.', '_', '-', none of them '.' or '..': the name becomes a path
    /// under the staging folder and an object key, and must stay inside both.
    static func isSafeName(_ name: String) -> Bool {
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(segments.count), name.utf8.count <= 128 else { return false }
        return segments.allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".."
                && segment.utf8.allSatisfy { ModelVersion.isSuffixByte($0) || $0 == UInt8(ascii: "-") }
        }
    }

    static func isHexDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}

/// The channel's `latest.json`: `{"pointer": "<JSON text>", "signature": "<base64 Ed25519 of that text>"}`.
/// One object, so a board reading it while a trainer publishes never pairs a new pointer with an old signature.
public struct LatestPointer: Sendable, Equatable {
    public var channel: String
    public var version: ModelVersion
    public var manifestSHA256: String
    public var publishedAt: String

    /// Parses the envelope and verifies its signature before reading the pointer.
    public static func parse(_ bytes: Data, keys: TrustedKeys) throws(ModelRefusal) -> LatestPointer {
        func bad(_ problem: String) -> ModelRefusal { .malformed(file: "latest.json", problem: problem) }
        guard let object = try? JSONSerialization.jsonObject(with: bytes), let root = object as? [String: Any],
              let pointerText = root["pointer"] as? String, let signatureText = root["signature"] as? String
        else { throw bad("not an object with 'pointer' and 'signature' strings") }
        guard let signature = Data(base64Encoded: signatureText) else { throw bad("signature is not base64") }
        let text = Data(pointerText.utf8)
        guard keys.verify(signature: signature, of: text) != nil else { throw .signature(file: "latest.json", keyID: nil) }
        guard let inner = try? JSONSerialization.jsonObject(with: text), let pointer = inner as? [String: Any],
              pointer["format"] as? Int == 1, let channel = pointer["channel"] as? String,
              let versionText = pointer["model_version"] as? String, let version = ModelVersion(versionText),
              let sha = pointer["manifest_sha256"] as? String, BundleManifest.isHexDigest(sha)
        else { throw bad("pointer lacks format 1, channel, model_version or manifest_sha256") }
        return LatestPointer(channel: channel, version: version, manifestSHA256: sha, publishedAt: (pointer["published_at"] as? String) ?? "")
    }
}

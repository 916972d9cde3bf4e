import Crypto
import Foundation
import Inference
import ModelUpdates
import Settings
import Testing

/// The verifier on real bundles: the golden one was written by scripts/toolchain/publish-model (Python's
/// cryptography signed it, onnxruntime scored its reference frames) from the demo model; the refusals re-sign
/// edited copies of it with a key made here. The model runs in our real runtime every time.
@Suite struct BundleVerifierTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let fixtures = root + "/Tests/ModelUpdatesTests/Fixtures/bundle"
    /// The frames the golden bundle's references were made from, in --reference order.
    static let frames = ["clean", "dirty", "dark", "blurred", "blocked"].map { "Calibration/simulation/frames/\($0)/000.jpg" }
    static let runtime = ClassifierRuntime(settings: InferenceSettings())

    static func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The golden bundle's files by manifest name.
    static func goldenFiles() throws -> [String: Data] {
        var files: [String: Data] = [
            "manifest.json": try read(fixtures + "/manifest.json"),
            "manifest.json.sig": try read(fixtures + "/manifest.json.sig"),
            "classifier.yaml": try read(fixtures + "/classifier.yaml"),
            "duct-classifier.onnx": try read(root + "/Calibration/duct-classifier.onnx"),
            "duct-classifier.report.md": try read(root + "/Calibration/duct-classifier.report.md"),
            "duct-classifier.report.json": try read(root + "/Calibration/duct-classifier.report.json"),
        ]
        for (index, frame) in frames.enumerated() {
            files[String(format: "references/%02d-000.jpg", index)] = try read(root + "/" + frame)
        }
        return files
    }

    static func fleetKeys() throws -> TrustedKeys {
        let pem = try String(contentsOfFile: fixtures + "/fleet.pub", encoding: .utf8)
        return TrustedKeys(keys: [try TrustedKeys.parse(pem: pem, source: "fleet.pub")])
    }

    static func verifier(_ keys: TrustedKeys, allowDowngrade: Bool = false) -> BundleVerifier {
        BundleVerifier(keys: keys, daemonVersion: ModelVersion("0.1.0")!, allowDowngrade: allowDowngrade)
    }

    /// A key made here, trusted by the verifier it returns, and a way to re-sign an edited manifest with it.
    struct Resigner {
        let key = Curve25519.Signing.PrivateKey()
        var keys: TrustedKeys {
            let der = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + key.publicKey.rawRepresentation
            let pem = "-----BEGIN PUBLIC KEY-----\n\(der.base64EncodedString())\n-----END PUBLIC KEY-----\n"
            return TrustedKeys(keys: [try! TrustedKeys.parse(pem: pem, source: "test.pub")])
        }

        /// Edits the manifest JSON, then signs the result; returns (manifest bytes, signature file bytes).
        func sign(_ manifest: Data, edit: (inout [String: Any]) -> Void = { _ in }) throws -> (Data, Data) {
            var object = try #require(try JSONSerialization.jsonObject(with: manifest) as? [String: Any])
            edit(&object)
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return (bytes, Data((try key.signature(for: bytes)).base64EncodedString().utf8))
        }
    }

    /// Runs the whole check on `files`, as the fetcher does.
    static func check(_ files: [String: Data], verifier: BundleVerifier, running: String? = "2026.11.27-bf2f9b5e") throws(ModelRefusal) -> VerifiedBundle<Classifier> {
        let manifest = try verifier.manifest(bytes: files["manifest.json"] ?? Data(), signature: files["manifest.json.sig"] ?? Data())
        return try verifier.verify(manifest: manifest, files: files, running: running.flatMap(ModelVersion.init), runtime: runtime)
    }

    static func refusal(_ body: () throws(ModelRefusal) -> Void) -> ModelRefusal? {
        do { try body() } catch { return error }
        return nil
    }

    @Test func aBundleFromPublishModelPassesEveryCheckOnThisBoard() throws {
        let verified = try Self.check(try Self.goldenFiles(), verifier: Self.verifier(try Self.fleetKeys()))
        #expect(verified.manifest.version.description == "2026.12.7-golden")
        #expect(verified.calibration.modelVersion == "2026.12.7-golden")
        #expect(verified.model.labels == ["clean", "dirty"])
        #expect(verified.manifest.references.count == 5)
        #expect(verified.largestDeviation <= BundleVerifier.measuredReferenceTolerance)
    }

    @Test func tamperedModelBytesAreRefusedByTheirDigest() throws {
        var files = try Self.goldenFiles()
        var model = try #require(files["duct-classifier.onnx"])
        model[model.count / 2] ^= 0x01
        files["duct-classifier.onnx"] = model
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(try! Self.fleetKeys())) }
        #expect(refusal?.code == "file-digest")
        #expect(refusal?.description.hasPrefix("duct-classifier.onnx:") == true)
    }

    @Test func aManifestSignedByAnUnknownKeyIsRefusedBeforeAnythingElse() throws {
        let files = try Self.goldenFiles()
        // Trust only a key of our own: the golden signature is then by an unknown key.
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(Resigner().keys)) }
        guard case let .signature(file, keyID) = refusal else { Issue.record("got \(String(describing: refusal))"); return }
        #expect(file == "manifest.json")
        #expect(keyID == (try Self.fleetKeys()).keys[0].id)
    }

    @Test func anEditedManifestNoLongerMatchesItsSignature() throws {
        var files = try Self.goldenFiles()
        let text = String(decoding: try #require(files["manifest.json"]), as: UTF8.self)
        files["manifest.json"] = Data(text.replacingOccurrences(of: "\"min_daemon_version\": \"0.1.0\"", with: "\"min_daemon_version\": \"0.0.1\"").utf8)
        #expect(files["manifest.json"] != (try Self.goldenFiles())["manifest.json"])
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(try! Self.fleetKeys())) }
        #expect(refusal?.code == "signature")
    }

    @Test func aReplayedOlderOrSameVersionIsRefusedUnlessDowngradesAreAllowed() throws {
        let files = try Self.goldenFiles()
        for running in ["2026.12.7", "2026.12.7-other", "2027.1"] {
            let refusal = Self.refusal { () throws(ModelRefusal) in
                _ = try Self.check(files, verifier: Self.verifier(try! Self.fleetKeys()), running: running)
            }
            #expect(refusal == .notNewer(version: "2026.12.7-golden", running: running))
        }
        let allowed = try Self.check(files, verifier: Self.verifier(try Self.fleetKeys(), allowDowngrade: true), running: "2027.1")
        #expect(allowed.manifest.version.description == "2026.12.7-golden")
    }

    @Test func aBundleForANewerDaemonIsRefused() throws {
        let signer = Resigner()
        var files = try Self.goldenFiles()
        (files["manifest.json"], files["manifest.json.sig"]) = try signer.sign(try #require(files["manifest.json"])) { $0["min_daemon_version"] = "0.2.0" }
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(signer.keys)) }
        #expect(refusal == .daemonTooOld(required: "0.2.0", running: "0.1.0"))
    }

    @Test func labelsThatDoNotMatchClassifierYamlAreRefused() throws {
        let signer = Resigner()
        var files = try Self.goldenFiles()
        let yaml = String(decoding: try #require(files["classifier.yaml"]), as: UTF8.self)
            .replacingOccurrences(of: "labels: [clean, dirty]", with: "labels: [dirty, clean]")
        files["classifier.yaml"] = Data(yaml.utf8)
        (files["manifest.json"], files["manifest.json.sig"]) = try signer.sign(try #require(files["manifest.json"])) { manifest in
            var listed = manifest["files"] as! [String: Any]
            listed["classifier.yaml"] = ["sha256": SHA256.hash(data: Data(yaml.utf8)).map { String(format: "%02x", $0) }.joined(), "size": yaml.utf8.count]
            manifest["files"] = listed
        }
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(signer.keys)) }
        #expect(refusal == .labels(model: ["clean", "dirty"], classifier: ["dirty", "clean"], manifest: ["clean", "dirty"]))
    }

    @Test func referenceScoresThatDoNotReproduceAreRefused() throws {
        let signer = Resigner()
        var files = try Self.goldenFiles()
        (files["manifest.json"], files["manifest.json.sig"]) = try signer.sign(try #require(files["manifest.json"])) { manifest in
            var references = manifest["references"] as! [[String: Any]]
            // The clean frame scored as if it were dirty.
            references[0]["scores"] = ["clean": 0.2, "dirty": 0.8]
            manifest["references"] = references
        }
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(signer.keys)) }
        guard case let .referenceScores(file, label, expected, actual, _) = refusal else { Issue.record("got \(String(describing: refusal))"); return }
        #expect(file == "references/00-000.jpg" && label == "clean" && expected == 0.2)
        #expect(actual > 0.5)
    }

    @Test func aModelOurRuntimeCannotLoadIsRefused() throws {
        let signer = Resigner()
        var files = try Self.goldenFiles()
        let garbage = Data("not an onnx model".utf8)
        files["duct-classifier.onnx"] = garbage
        (files["manifest.json"], files["manifest.json.sig"]) = try signer.sign(try #require(files["manifest.json"])) { manifest in
            var listed = manifest["files"] as! [String: Any]
            listed["duct-classifier.onnx"] = ["sha256": SHA256.hash(data: garbage).map { String(format: "%02x", $0) }.joined(), "size": garbage.count]
            manifest["files"] = listed
        }
        let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.check(files, verifier: Self.verifier(signer.keys)) }
        #expect(refusal?.code == "model-load")
    }

    @Test func fileNamesThatWouldLeaveTheStagingFolderAreRefused() throws {
        let signer = Resigner()
        let files = try Self.goldenFiles()
        for name in ["../escape", "/etc/passwd", "a/b/c", "references/..", ""] {
            let (bytes, signature) = try signer.sign(try #require(files["manifest.json"])) { manifest in
                var listed = manifest["files"] as! [String: Any]
                listed[name] = ["sha256": String(repeating: "0", count: 64), "size": 1]
                manifest["files"] = listed
            }
            let refusal = Self.refusal { () throws(ModelRefusal) in _ = try Self.verifier(signer.keys).manifest(bytes: bytes, signature: signature) }
            #expect(refusal?.code == "malformed", "\(name)")
        }
    }

    @Test func publicKeyFilesAreReadAsPublishModelWritesThemAndPrivateKeysAreRefused() throws {
        let keys = try Self.fleetKeys()
        #expect(keys.keys[0].id.count == 16)
        #expect(throws: TrustedKeys.KeyError.self) { try TrustedKeys.parse(pem: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", source: "k") }
        #expect(throws: TrustedKeys.KeyError.self) { try TrustedKeys.parse(pem: "hello", source: "k") }
    }
}

@Suite struct ModelVersionTests {
    @Test func versionsOrderByTheirNumbersAndTheSuffixDoesNotOrder() {
        let v = { (text: String) in ModelVersion(text)! }
        #expect(v("2026.11.27-bf2f9b5e") < v("2026.12.7"))
        #expect(v("1.10") > v("1.9"))
        #expect(v("1.0") == v("1"))
        #expect(!(v("1.2-a") < v("1.2-b")) && !(v("1.2-b") < v("1.2-a")))
        for bad in ["", "latest", "1..2", "1.2-", "1.2-a/b", "-1", "1.2.3.4.5.6.7", "1.2-a-b", "١.٢"] {
            #expect(ModelVersion(bad) == nil, "\(bad)")
        }
    }
}

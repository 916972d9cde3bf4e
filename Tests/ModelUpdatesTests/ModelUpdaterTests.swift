import Crypto
import Foundation
import Inference
import Logging
import ModelUpdates
import Settings
import Synchronization
import Testing

/// One poll at a time against a bucket held in memory (the S3 client and the file:// endpoint are tested with the
/// uplink and end to end); the real verifier, runtime and store underneath.
@Suite struct ModelUpdaterTests {
    /// A bucket: keys to bytes, counting reads.
    final class Bucket: BundleSource, Sendable {
        let objects = Mutex<[String: Data]>([:])
        let reads = Mutex<[String]>([])

        func get(key: String, limit: Int) async throws -> Data? {
            reads.withLock { $0.append(key) }
            let data = objects.withLock { $0[key] }
            if let data, data.count > limit { throw CancellationError() }
            return data
        }

        /// Publishes the golden bundle's files under `version`, re-signed by `signer`, as publish-model lays them out.
        func publish(version: String, signer: BundleVerifierTests.Resigner, edit: (inout [String: Any]) -> Void = { _ in }) throws {
            var files = try BundleVerifierTests.goldenFiles()
            let yaml = String(decoding: files["classifier.yaml"]!, as: UTF8.self)
                .replacingOccurrences(of: "2026.12.7-golden", with: version)
            files["classifier.yaml"] = Data(yaml.utf8)
            let (manifest, signature) = try signer.sign(files["manifest.json"]!) { object in
                object["model_version"] = version
                var listed = object["files"] as! [String: Any]
                listed["classifier.yaml"] = ["sha256": SHA256.hash(data: Data(yaml.utf8)).map { String(format: "%02x", $0) }.joined(), "size": yaml.utf8.count]
                object["files"] = listed
                edit(&object)
            }
            files["manifest.json"] = manifest
            files["manifest.json.sig"] = signature
            let pointer = try JSONSerialization.data(withJSONObject: [
                "format": 1, "channel": "canary", "model_version": version, "published_at": "2026-12-07T10:00:00Z",
                "manifest_sha256": SHA256.hash(data: manifest).map { String(format: "%02x", $0) }.joined(),
            ] as [String: Any], options: [.sortedKeys])
            let envelope = try JSONSerialization.data(withJSONObject: [
                "pointer": String(decoding: pointer, as: UTF8.self), "signature": try signer.key.signature(for: pointer).base64EncodedString(),
            ])
            objects.withLock { objects in
                for (name, data) in files { objects["fleet/models/canary/\(version)/\(name)"] = data }
                objects["fleet/models/canary/latest.json"] = envelope
            }
        }
    }

    final class Recorder: Sendable {
        let swaps = Mutex<[String]>([])
        let events = Mutex<[ModelActivation]>([])
        let failSwap = Mutex(false)
        /// A clock that moves one second per reading, so two events never share a time.
        let tick = Mutex(1_800_000_000.0)
    }

    let directory = NSTemporaryDirectory() + "model-updater-" + UUID().uuidString
    let signer = BundleVerifierTests.Resigner()
    let bucket = Bucket()
    let recorder = Recorder()

    func updater(baseline: String? = "2026.11.27-bf2f9b5e") throws -> ModelUpdater {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        let recorder = self.recorder
        return ModelUpdater(
            settings: ModelsSettings(channel: "canary", publicKeys: ["test.pub"]), prefix: "fleet", store: store, source: bucket,
            verifier: BundleVerifier(keys: signer.keys, daemonVersion: ModelVersion("0.1.0")!),
            runtime: ClassifierRuntime(settings: InferenceSettings()),
            baseline: baseline.map { ModelStore.Record(version: $0, sha256: "calibration-sha", activatedAt: Date(), channel: "calibration") },
            swap: { folder in
                if recorder.failSwap.withLock({ $0 }) { throw CancellationError() }
                recorder.swaps.withLock { $0.append(folder) }
            },
            announce: { activation in recorder.events.withLock { $0.append(activation) } },
            clock: { Date(timeIntervalSince1970: recorder.tick.withLock { $0 += 1; return $0 }) },
            logger: Logger(label: "test"))
    }

    @Test func aNewerBundleIsActivatedSwappedAndAnnouncedOnce() async throws {
        let updater = try updater()
        #expect(await updater.check() == .noPointer)
        try bucket.publish(version: "2026.12.8", signer: signer)
        #expect(await updater.check() == .activated("2026.12.8"))
        let folder = ModelStore(stateDirectory: directory).folder(of: "2026.12.8")
        #expect(recorder.swaps.withLock { $0 } == [folder])
        #expect(FileManager.default.fileExists(atPath: folder + "/duct-classifier.onnx"))
        #expect(FileManager.default.fileExists(atPath: folder + "/references/04-000.jpg"))
        let event = try #require(recorder.events.withLock { $0.first })
        #expect(event.old?.version == "2026.11.27-bf2f9b5e" && event.old?.channel == "calibration")
        #expect(event.new.version == "2026.12.8" && event.reason == "update")
        #expect(event.new.sha256 == "716ebe358b024b267b5d0b8ddfd2eb818513a5be4c3fa0ad0e13a0a4726311db")
        let json = try #require(try JSONSerialization.jsonObject(with: event.json(deviceID: "b1")) as? [String: Any])
        #expect(json["event"] as? String == "model_activated")
        #expect((json["new"] as? [String: Any])?["sha256"] as? String == event.new.sha256)
        #expect(await updater.check() == .upToDate)
        #expect(recorder.events.withLock { $0.count } == 1)
        #expect(await updater.status.current?.version == "2026.12.8")
    }

    @Test func aRefusedVersionIsLoggedOnceKeptForStatusAndNotDownloadedAgain() async throws {
        let updater = try updater()
        try bucket.publish(version: "2026.12.8", signer: signer) { object in
            var references = object["references"] as! [[String: Any]]
            references[1]["scores"] = ["clean": 0.9, "dirty": 0.1]
            object["references"] = references
        }
        guard case .refused("2026.12.8", .referenceScores) = await updater.check() else { Issue.record("not refused for its scores"); return }
        let readsAfterFirst = bucket.reads.withLock { $0.count }
        guard case .refused("2026.12.8", .referenceScores) = await updater.check() else { Issue.record("second poll"); return }
        #expect(bucket.reads.withLock { $0.count } == readsAfterFirst + 1)  // latest.json only
        let status = await updater.status
        #expect(status.lastRefusal?.version == "2026.12.8" && status.lastRefusal?.reason.code == "reference-scores")
        #expect(status.current == nil && recorder.swaps.withLock { $0.isEmpty } && recorder.events.withLock { $0.isEmpty })
    }

    @Test func aReplayedOlderPointerIsRefusedWithoutDownloadingTheBundle() async throws {
        let updater = try updater(baseline: "2027.1")
        try bucket.publish(version: "2026.12.8", signer: signer)
        #expect(await updater.check() == .refused("2026.12.8", .notNewer(version: "2026.12.8", running: "2027.1")))
        #expect(bucket.reads.withLock { $0 } == ["fleet/models/canary/latest.json"])
    }

    @Test func aPointerSignedByAnUnknownKeyIsRefused() async throws {
        let updater = try updater()
        try bucket.publish(version: "2026.12.8", signer: BundleVerifierTests.Resigner())
        #expect(await updater.check() == .refused("latest.json", .signature(file: "latest.json", keyID: nil)))
    }

    @Test func eachNewPointerThatDoesNotVerifyIsReportedNotOnlyTheFirst() async throws {
        let updater = try updater()
        try bucket.publish(version: "2026.12.8", signer: BundleVerifierTests.Resigner())
        _ = await updater.check()
        let first = try #require(await updater.status.lastRefusal)
        // A second bad pointer: a stranger's again, for another version.
        try bucket.publish(version: "2026.12.10", signer: BundleVerifierTests.Resigner())
        _ = await updater.check()
        let second = try #require(await updater.status.lastRefusal)
        #expect(second.reason.code == "signature")
        #expect(second.at > first.at, "the second bad pointer was not reported")
    }

    @Test func rollbackGoesBackAndThePollerLeavesTheVersionAlone() async throws {
        let updater = try updater()
        try bucket.publish(version: "2026.12.8", signer: signer)
        #expect(await updater.check() == .activated("2026.12.8"))
        try bucket.publish(version: "2026.12.9", signer: signer)
        #expect(await updater.check() == .activated("2026.12.9"))
        let activation = try await updater.rollback()
        #expect(activation.new.version == "2026.12.8" && activation.old?.version == "2026.12.9" && activation.reason == "rollback")
        #expect(recorder.swaps.withLock { $0.last } == ModelStore(stateDirectory: directory).folder(of: "2026.12.8"))
        #expect(await updater.check() == .skipped("2026.12.9 was rolled back by an operator"))
        #expect(await updater.status.current?.version == "2026.12.8")
    }

    @Test func aSwapThatFailsLeavesTheOldModelCurrent() async throws {
        let updater = try updater()
        try bucket.publish(version: "2026.12.8", signer: signer)
        #expect(await updater.check() == .activated("2026.12.8"))
        try bucket.publish(version: "2026.12.9", signer: signer)
        recorder.failSwap.withLock { $0 = true }
        guard case .failed = await updater.check() else { Issue.record("expected a failure"); return }
        #expect(try ModelStore(stateDirectory: directory).state().current?.version == "2026.12.8")
        #expect(try ModelStore(stateDirectory: directory).state().rolledBack.isEmpty)
    }
}

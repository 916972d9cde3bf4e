import Digests
import Foundation
import Logging
import Settings

/// Where bundles are read from: the uplink's S3 client or its file:// folder (the daemon adapts both).
public protocol BundleSource: Sendable {
    /// The object's bytes, nil when the key does not exist; at most `limit` bytes are accepted.
    func get(key: String, limit: Int) async throws -> Data?
}

/// What `remotairctl model` and `status` show.
public struct ModelUpdateStatus: Sendable, Equatable {
    public struct Refusal: Sendable, Equatable {
        public var version: String
        public var reason: ModelRefusal
        public var at: Date
    }

    public var channel: String
    public var current: ModelStore.Record?
    public var previous: ModelStore.Record?
    public var lastCheck: Date?
    /// `up-to-date`, `activated 1.2`, `no latest.json`, `error: ...`.
    public var lastCheckResult: String?
    public var lastRefusal: Refusal?
    /// Set when the active model failed to load at start-up and the previous one runs instead.
    public var startupFallback: String?
}

/// A model that became current: the `model_activated` event's content.
public struct ModelActivation: Sendable, Equatable {
    public var old: ModelStore.Record?
    public var new: ModelStore.Record
    /// `update`, `rollback` or `startup-fallback`.
    public var reason: String

    /// The event's JSON, queued in the outbox like an alarm document.
    public func json(deviceID: String) -> Data {
        func record(_ r: ModelStore.Record?) -> Any {
            guard let r else { return NSNull() }
            return ["version": r.version, "sha256": r.sha256, "channel": r.channel] as [String: Any]
        }
        let object: [String: Any] = [
            "event": "model_activated", "device_id": deviceID, "reason": reason,
            "at": ISO8601DateFormatter().string(from: new.activatedAt), "old": record(old), "new": record(new),
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}

/// One poll of the channel, and rollback: fetch, verify, stage, activate, swap, announce. Refusals are logged once
/// per version and kept for status; transient errors (network, the bucket paused) are retried at the next poll.
public actor ModelUpdater {
    public let settings: ModelsSettings
    let channelKey: String
    let store: ModelStore
    let source: any BundleSource
    let verifier: BundleVerifier
    let runtime: ClassifierRuntime
    /// Swaps the running classifier to the bundle in this folder (the daemon's reload path); throws if it cannot.
    let swap: @Sendable (String) async throws -> Void
    /// Queues the `model_activated` event.
    let announce: @Sendable (ModelActivation) async -> Void
    /// Called after every check and rollback with the new status (the daemon shows it in `remotairctl status`).
    let report: @Sendable (ModelUpdateStatus) -> Void
    let clock: @Sendable () -> Date
    let logger: Logger
    /// The calibration directory's model: what runs while no bundle was ever activated (channel `calibration`).
    let baseline: ModelStore.Record?
    /// Refusals by version: each is logged once, and a refused version is not downloaded again.
    private var refusals: [String: ModelRefusal] = [:]
    public private(set) var status: ModelUpdateStatus

    public init(settings: ModelsSettings, prefix: String, store: ModelStore, source: any BundleSource, verifier: BundleVerifier,
                runtime: ClassifierRuntime, baseline: ModelStore.Record?, startupFallback: String? = nil,
                swap: @escaping @Sendable (String) async throws -> Void, announce: @escaping @Sendable (ModelActivation) async -> Void,
                report: @escaping @Sendable (ModelUpdateStatus) -> Void = { _ in }, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.settings = settings
        channelKey = (prefix.isEmpty ? "" : prefix + "/") + "models/" + settings.channel
        self.store = store
        self.source = source
        self.verifier = verifier
        self.runtime = runtime
        self.baseline = baseline
        self.swap = swap
        self.announce = announce
        self.report = report
        self.clock = clock
        self.logger = logger
        let state = (try? store.state()) ?? ModelStore.State()
        status = ModelUpdateStatus(channel: settings.channel, current: state.current, previous: state.previous, startupFallback: startupFallback)
    }

    /// Small files (pointer, manifest, signature) are bounded well below any model.
    static let smallFileLimit = 1 << 20

    public enum Outcome: Sendable, Equatable {
        case upToDate
        case noPointer
        case activated(String)
        case refused(String, ModelRefusal)
        case skipped(String)
        case failed(String)
    }

    /// One poll.
    @discardableResult
    public func check() async -> Outcome {
        let outcome = await poll()
        status.lastCheck = clock()
        switch outcome {
        case .upToDate: status.lastCheckResult = "up-to-date"
        case .noPointer: status.lastCheckResult = "no latest.json in \(channelKey)"
        case let .activated(version): status.lastCheckResult = "activated \(version)"
        case let .refused(version, _): status.lastCheckResult = "refused \(version)"
        case let .skipped(why): status.lastCheckResult = why
        case let .failed(message): status.lastCheckResult = "error: \(message)"
        }
        report(status)
        return outcome
    }

    /// `key` tells refusals of one version apart when there is no trusted version yet (a pointer that does not verify
    /// is keyed by its digest, so each new bad pointer is reported once).
    private func refuse(_ version: String, _ reason: ModelRefusal, key: String? = nil) -> Outcome {
        if refusals.updateValue(reason, forKey: key ?? version) == nil {
            logger.error("model bundle refused", metadata: ["version": .string(version), "reason": .string(reason.code), "detail": .string(reason.description)])
            status.lastRefusal = .init(version: version, reason: reason, at: clock())
        }
        return .refused(version, reason)
    }

    private func poll() async -> Outcome {
        let state: ModelStore.State
        do { state = try store.state() } catch { return .failed(error.description) }
        let pointerBytes: Data
        do {
            guard let bytes = try await source.get(key: channelKey + "/latest.json", limit: Self.smallFileLimit) else { return .noPointer }
            pointerBytes = bytes
        } catch {
            return .failed("\(channelKey)/latest.json: \(error)")
        }
        let pointer: LatestPointer
        let pointerKey = "latest.json " + Digest.sha256(pointerBytes)
        do { pointer = try LatestPointer.parse(pointerBytes, keys: verifier.keys) } catch { return refuse("latest.json", error, key: pointerKey) }
        guard pointer.channel == settings.channel else {
            return refuse("latest.json", .malformed(file: "latest.json", problem: "it is for channel '\(pointer.channel)', not '\(settings.channel)'"), key: pointerKey)
        }
        let version = pointer.version.description
        let running = (state.current ?? baseline).flatMap { ModelVersion($0.version) }
        if state.current?.version == version { return .upToDate }
        if state.rolledBack.contains(version) { return .skipped("\(version) was rolled back by an operator") }
        if let reason = refusals[version] { return .refused(version, reason) }
        // The pointer is signed, so its version can be trusted to skip a download that would be refused anyway.
        if let running, !verifier.allowDowngrade, !(running < pointer.version) {
            return refuse(version, .notNewer(version: version, running: running.description))
        }
        let folderKey = channelKey + "/" + version
        let manifest: BundleManifest
        var files: [String: Data] = [:]
        do {
            guard let manifestBytes = try await source.get(key: folderKey + "/manifest.json", limit: Self.smallFileLimit),
                  let signature = try await source.get(key: folderKey + "/manifest.json.sig", limit: Self.smallFileLimit)
            else { return refuse(version, .malformed(file: "manifest.json", problem: "missing from \(folderKey)")) }
            let digest = Digest.sha256(manifestBytes)
            guard digest == pointer.manifestSHA256 else {
                return refuse(version, .malformed(file: "manifest.json", problem: "its SHA-256 \(digest) is not the one latest.json names"))
            }
            do { manifest = try verifier.manifest(bytes: manifestBytes, signature: signature) } catch { return refuse(version, error) }
            guard manifest.version == pointer.version, manifest.version.description == version else {
                return refuse(version, .malformed(file: "manifest.json", problem: "version \(manifest.version) is not latest.json's \(version)"))
            }
            files["manifest.json"] = manifestBytes
            files["manifest.json.sig"] = signature
            for (name, entry) in manifest.files.sorted(by: { $0.key < $1.key }) {
                guard let data = try await source.get(key: folderKey + "/" + name, limit: entry.size) else {
                    return refuse(version, .fileDigest(file: name, expected: entry.sha256, actual: "missing"))
                }
                files[name] = data
            }
        } catch {
            return .failed("\(folderKey): \(error)")
        }
        let verified: VerifiedBundle<ClassifierRuntime.Model>
        do {
            verified = try verifier.verify(manifest: manifest, files: files, running: running, runtime: runtime)
        } catch {
            return refuse(version, error)
        }
        let record = ModelStore.Record(version: version, sha256: verified.model.sha256, activatedAt: clock(), channel: settings.channel)
        let old = state.current ?? baseline
        do {
            let staged = try store.stagingFolder(for: version)
            try store.write(files: files, into: staged)
            let next = try store.activate(staged: staged, record: record)
            do {
                try await swap(store.folder(of: version))
            } catch {
                // Verified yet not loadable from disk (disk full, a file damaged after the write): back to the old one.
                try? store.restore(state)
                return .failed("activating \(version): \(error)")
            }
            status.current = next.current
            status.previous = next.previous
        } catch {
            return .failed(error.description)
        }
        logger.notice("model activated", metadata: [
            "version": .string(version), "sha256": .string(record.sha256), "previous": .string(old?.version ?? "calibration"),
            "largest_reference_deviation": .string(String(format: "%.4f", verified.largestDeviation)),
        ])
        await announce(ModelActivation(old: old, new: record, reason: "update"))
        return .activated(version)
    }

    /// Back to the previous model (`remotairctl model rollback`).
    public func rollback() async throws -> ModelActivation {
        let state = try store.state()
        guard let previous = state.previous else { throw ModelStoreError(path: "models", message: "there is no previous model to roll back to") }
        try await swap(store.folder(of: previous.version))
        let next = try store.rollback(at: clock())
        status.current = next.current
        status.previous = next.previous
        let activation = ModelActivation(old: state.current, new: next.current ?? previous, reason: "rollback")
        logger.notice("model rolled back", metadata: ["version": .string(previous.version), "from": .string(state.current?.version ?? "")])
        await announce(activation)
        report(status)
        return activation
    }
}


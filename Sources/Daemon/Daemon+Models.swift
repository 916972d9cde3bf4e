import Foundation
import Health
import Inference
import Logging
import ModelUpdates
import Monitoring
import ServiceLifecycle
import Settings
import Synchronization
import Uplink

/// Which model bundle the classifier comes from, shared by start-up, reload, the updater and the control socket.
public final class ModelsRuntime: Sendable {
    struct State {
        var folder: String?
        var startupFallback: String?
        var keys: TrustedKeys?
        var updater: ModelUpdater?
    }

    private let state = Mutex(State())

    /// The activated bundle's folder; nil means the calibration directory's classifier.yaml.
    public var folder: String? { state.withLock { $0.folder } }
    /// Why the daemon runs the previous model since start-up, if it does.
    public var startupFallback: String? { state.withLock { $0.startupFallback } }
    public var updater: ModelUpdater? { state.withLock { $0.updater } }
    var keys: TrustedKeys? { state.withLock { $0.keys } }

    func set(folder: String?) { state.withLock { $0.folder = folder } }
    func set(startupFallback: String?, keys: TrustedKeys?) { state.withLock { $0.startupFallback = startupFallback; $0.keys = keys } }
    func set(updater: ModelUpdater?) { state.withLock { $0.updater = updater } }
}

/// The uplink's S3 client or file:// folder as a bundle source.
struct UplinkBundleSource: BundleSource {
    enum Store {
        case s3(S3Client)
        case folder(FileEndpoint)
    }

    let store: Store

    func get(key: String, limit: Int) async throws -> Data? {
        switch store {
        case let .s3(client): try await client.get(key: key, limit: limit)
        case let .folder(endpoint): try await endpoint.get(key: key, limit: limit)
        }
    }
}

extension Daemon {
    /// The model set at start-up. With `models:` on, the current bundle; if it does not load, the previous one (the
    /// store says so from then on, and the daemon reports it); if neither does, the calibration directory's model.
    /// Also reads the public keys, so a missing key file stops the start with its name.
    func loadStartupModelSet(logger: Logger) throws(DaemonError) -> ModelSet {
        guard let settings = configuration.models else {
            return try ModelSet.load(configuration: configuration, version: Self.version)
        }
        var keys: [TrustedKeys.Key] = []
        for (index, file) in settings.publicKeys.enumerated() {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw DaemonError(component: "models", message: "models.public_keys[\(index)]: cannot read \(file): \(error.localizedDescription)")
            }
            do { keys.append(try TrustedKeys.parse(pem: text, source: file)) } catch {
                throw DaemonError(component: "models", message: "models.public_keys[\(index)]: \(error)")
            }
        }
        let store = ModelStore(stateDirectory: configuration.stateDirectory)
        var fallback: String?
        var modelSet: ModelSet?
        do {
            try store.prepare()
            let state = try store.state()
            if let current = state.current {
                do {
                    modelSet = try ModelSet.load(configuration: configuration, version: Self.version, classifierDirectory: store.folder(of: current.version))
                    models.set(folder: store.folder(of: current.version))
                } catch {
                    fallback = "model \(current.version) failed to load (\(error)); "
                    if let previous = state.previous {
                        modelSet = try? ModelSet.load(configuration: configuration, version: Self.version, classifierDirectory: store.folder(of: previous.version))
                        if modelSet != nil {
                            _ = try store.fallBack(at: Date())
                            models.set(folder: store.folder(of: previous.version))
                            fallback! += "running the previous model \(previous.version)"
                        }
                    }
                }
            }
        } catch {
            fallback = "\(error); "
        }
        if modelSet == nil, fallback != nil { fallback! += "running the calibration directory's model" }
        if let fallback {
            logger.error("model fallback at start-up", metadata: ["detail": .string(fallback)])
            health.publish("models", state: HealthState.degraded.rawValue, detail: ["fallback": fallback])
        }
        models.set(startupFallback: fallback, keys: TrustedKeys(keys: keys))
        if let modelSet { return modelSet }
        return try ModelSet.load(configuration: configuration, version: Self.version)
    }

    /// The updater and its polling service, or nil when `models:` is off or the bucket cannot be reached with the
    /// uplink's settings (then the uplink reports why).
    func makeModelUpdateService(modelSet: ModelSet, reloader: Reloader, queue: OutboxDocumentQueue, environment: [String: String],
                                 logger: Logger) -> (any Service)? {
        guard let settings = configuration.models, let keys = models.keys, let endpoint = configuration.uplink.endpoint else { return nil }
        let source: UplinkBundleSource
        if endpoint.isFileURL {
            source = UplinkBundleSource(store: .folder(FileEndpoint(root: endpoint.path)))
        } else {
            do {
                let credentials = try CredentialsLoader.load(file: configuration.uplink.credentialsFile, environment: environment)
                let uplink = configuration.uplink
                source = UplinkBundleSource(store: .s3(S3Client(endpoint: endpoint, bucket: uplink.bucket, region: uplink.region,
                                                                 addressing: uplink.addressing, credentials: credentials)))
            } catch {
                logger.error("model updates off: the uplink has no usable credentials", metadata: ["reason": "\(error)"])
                return nil
            }
        }
        let baseline = ModelStore.Record(version: modelSet.provenance.modelVersion ?? "0", sha256: modelSet.classifier.modelSHA256,
                                         activatedAt: Date(), channel: "calibration")
        let deviceID = configuration.deviceID
        let health = self.health
        let updater = ModelUpdater(
            settings: settings, prefix: configuration.uplink.prefix, store: ModelStore(stateDirectory: configuration.stateDirectory), source: source,
            verifier: BundleVerifier(keys: keys, daemonVersion: ModelVersion(Self.version) ?? ModelVersion("0")!, allowDowngrade: settings.allowDowngrade),
            runtime: ClassifierRuntime(settings: configuration.inference),
            baseline: baseline, startupFallback: models.startupFallback,
            swap: { folder in try await reloader.activateModel(folder: folder) },
            announce: { activation in
                do {
                    _ = try await queue.enqueue(QueuedDocument(kind: .status, priority: .alarm, createdAt: activation.new.activatedAt,
                                                               json: activation.json(deviceID: deviceID), mqttTopic: "events"))
                } catch {
                    Logger(label: "models").error("model_activated event not queued", metadata: ["error": "\(error)"])
                }
            },
            report: { status in
                // A refused bundle is not a fault of this board: the running model keeps deciding, so the state stays ok
                // (a start-up fallback is degraded: the model meant to run does not load here).
                var detail = ["channel": status.channel, "version": status.current?.version ?? "calibration"]
                if let refusal = status.lastRefusal { detail["last_refusal"] = "\(refusal.version): \(refusal.reason.code)" }
                if let fallback = status.startupFallback { detail["fallback"] = fallback }
                health.publish("models", state: (status.startupFallback == nil ? HealthState.ok : HealthState.degraded).rawValue, detail: detail)
            },
            logger: Logger(label: "models"))
        models.set(updater: updater)
        return ModelUpdateService(updater: updater, interval: settings.pollInterval)
    }
}

extension Reloader {
    /// Swaps the classifier to the model bundle in `folder` (an update or a rollback) through the same validation as
    /// a reload: the running configuration with that folder's classifier.yaml, loaded completely before the monitor
    /// switches. On error the running model stays.
    public func activateModel(folder: String) async throws(DaemonError) {
        let modelSet = try ModelSet.load(configuration: configuration, version: Daemon.version, classifierDirectory: folder)
        var settings = modelSet.settings
        settings.labelAttribute = await monitor.currentSettings.labelAttribute
        await monitor.reload(settings: settings,
                             classifier: ModelFrameClassifier(classifier: modelSet.classifier, modelVersion: modelSet.provenance.modelVersion),
                             provenance: modelSet.provenance)
        daemon.models.set(folder: folder)
        logger.notice("model swapped", metadata: ["model_sha256": .string(modelSet.classifier.modelSHA256),
                                                  "model_version": .string(modelSet.provenance.modelVersion ?? "")])
    }
}

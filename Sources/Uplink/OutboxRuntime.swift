import Foundation
import Logging
import Outbox
import Settings
import Synchronization

/// The daemon's outbox and upload worker. `open` runs recovery (before READY=1); `makeWorker` builds the uplink
/// service from configuration; `close` syncs the database at the end of a graceful shutdown.
public final class OutboxRuntime: Sendable {
    private let state = Mutex<(outbox: Outbox?, worker: UploadWorker?)>((nil, nil))

    public init() {}

    /// The open outbox (nil before `open`): producers enqueue here, the control socket reads `status()`.
    public var outbox: Outbox? { state.withLock { $0.outbox } }
    /// The upload worker, nil when the uplink is off or has no credentials.
    public var worker: UploadWorker? { state.withLock { $0.worker } }

    /// Opens `<state_dir>/outbox` and recovers it.
    @discardableResult
    public func open(stateDirectory: String, settings: OutboxSettings, logger: Logger,
                     progress: @escaping @Sendable () -> Void = {}) throws(OutboxError) -> RecoveryReport {
        let (outbox, report) = try Outbox.open(directory: stateDirectory + "/outbox", settings: settings, logger: logger, progress: progress)
        state.withLock { $0.outbox = outbox }
        return report
    }

    /// The upload worker for `settings`, or nil (uplink off, or no usable credentials: then the reason is in status).
    public func makeWorker(settings: UplinkSettings, deviceID: String, environment: [String: String], logger: Logger) -> UploadWorker? {
        guard let outbox else { return nil }
        guard let endpoint = settings.endpoint else {
            logger.notice("uplink.endpoint is not set: items stay queued in the outbox")
            outbox.reportUplink(pausedReason: "uplink.endpoint not configured")
            return nil
        }
        let store: any ObjectStore
        if endpoint.isFileURL {
            store = FileEndpoint(root: endpoint.path)
        } else {
            do {
                let credentials = try CredentialsLoader.load(file: settings.credentialsFile, environment: environment)
                store = S3Client(endpoint: endpoint, bucket: settings.bucket, region: settings.region, addressing: settings.addressing, credentials: credentials)
            } catch {
                logger.error("uplink has no usable credentials; items stay queued", metadata: ["reason": "\(error)"])
                outbox.reportUplink(pausedReason: "credentials: \(error)")
                return nil
            }
        }
        let worker = UploadWorker(outbox: outbox, store: store, settings: settings, deviceID: deviceID, logger: logger)
        state.withLock { $0.worker = worker }
        logger.info("uplink ready", metadata: [
            "endpoint": "\(endpoint.isFileURL ? endpoint.path : endpoint.host ?? "?")", "bucket": "\(settings.bucket)", "concurrency": "\(settings.concurrency)",
        ])
        return worker
    }

    /// Retry now (`remotairctl outbox-flush`): resumes a paused uplink and makes every item due.
    public func flush() {
        if let worker {
            worker.flush()
        } else {
            try? outbox?.makeAllDue()
        }
    }

    /// Checkpoints and closes the database (after the services stopped).
    public func close() {
        outbox?.close()
    }
}

import Foundation
import Logging
import ObjectLayout
import Outbox
import ServiceLifecycle
import Settings
import Synchronization

/// Drains the outbox into an object store: alarms first, at most `concurrency` uploads at once.
///
/// Transient failures (network, 5xx, SlowDown, RequestTimeout) back off with full jitter, forever. Credential,
/// permission and clock-skew errors pause the uplink with a named reason (shown in status) until `flush()`, a reload,
/// or the periodic probe. An item is removed only after every blob got a 2xx whose ETag equals the blob's MD5.
public final class UploadWorker: Service, Sendable {
    let outbox: Outbox
    let store: any ObjectStore
    let settings: UplinkSettings
    let deviceID: String
    let logger: Logger
    let state = Mutex(State())
    let limiter: BandwidthLimiter?
    /// How often TTL expiry runs.
    let expiryInterval: Duration = .seconds(600)

    struct State {
        var backoff = Backoff()
        var pausedReason: String?
        var pausedUntil: ContinuousClock.Instant?
        /// Set by flush(): skip any backoff wait.
        var flushRequested = false
    }

    /// `backoff` sets the base and cap of the transient-failure waits (tests shorten them).
    public init(outbox: Outbox, store: any ObjectStore, settings: UplinkSettings, deviceID: String, logger: Logger, backoff: Backoff = Backoff()) {
        self.state.withLock { $0.backoff = backoff }
        self.outbox = outbox
        self.store = store
        self.settings = settings
        self.deviceID = deviceID
        self.logger = logger
        self.limiter = settings.bandwidthLimit.map { BandwidthLimiter(bytesPerSecond: $0) }
    }

    /// Retry now: clears a pause and any backoff, and makes every queued item due (`remotairctl outbox-flush`, reload).
    public func flush() {
        state.withLock {
            $0.backoff.reset()
            $0.pausedReason = nil
            $0.pausedUntil = nil
            $0.flushRequested = true
        }
        outbox.reportUplink(pausedReason: nil)
        try? outbox.makeAllDue()
        outbox.wakeup.signal()
    }

    /// Why the uplink is paused, nil while it runs.
    public var pausedReason: String? { state.withLock { $0.pausedReason } }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await loop()
        }
        await store.shutdown()
        logger.info("upload worker stopped")
    }

    /// A sliding window of at most `concurrency` uploads: whenever one finishes, the next due item (highest rank
    /// first) takes its place. A transient failure holds new leases back for the backoff; a pause until the probe.
    func loop() async {
        let clock = ContinuousClock()
        var nextExpiry = clock.now
        var holdUntil: ContinuousClock.Instant?
        await withTaskGroup(of: (LeasedItem, UploadError?).self) { group in
            var inFlight = 0
            while !Task.isCancelled {
                if clock.now >= nextExpiry {
                    _ = try? outbox.expire()
                    nextExpiry = clock.now + expiryInterval
                }
                if state.withLock({ state in defer { state.flushRequested = false }; return state.flushRequested }) { holdUntil = nil }
                let pausedUntil = state.withLock { $0.pausedUntil }
                let held = [holdUntil, pausedUntil].compactMap { $0 }.filter { $0 > clock.now }.max()
                if held == nil, inFlight < settings.concurrency {
                    do {
                        let items = try outbox.lease(limit: settings.concurrency - inFlight)
                        for item in items {
                            group.addTask { [self] in (item, await upload(item)) }
                        }
                        inFlight += items.count
                    } catch {
                        logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                        holdUntil = clock.now + .seconds(5)
                    }
                }
                if inFlight > 0 {
                    guard let outcome = await group.next() else { continue }
                    inFlight -= 1
                    if let delay = settle([outcome]) { holdUntil = clock.now + delay }
                    continue
                }
                // Idle: nothing in flight. Sleep until new work, a flush, the end of a hold, or the next item due.
                var wait = Duration.seconds(60)
                if let held {
                    wait = held - clock.now
                } else if let due = outbox.nextDue() {
                    wait = .milliseconds(Int64(max(0.01, min(60, due.timeIntervalSinceNow)) * 1000))
                }
                // A new item or a flush wakes us; during a hold the loop just goes back to sleep until it ends.
                await outbox.wakeup.wait(upTo: min(wait, .seconds(60)))
            }
            group.cancelAll()
            // Uploads cut short by shutdown stay queued; their leases end with this process or are released here.
            while let (item, _) = await group.next() { outbox.release(item.id) }
        }
    }

    /// Uploads every blob of one item, JPEG first, then acknowledges it to the outbox. nil means success.
    func upload(_ item: LeasedItem) async -> UploadError? {
        do {
            for blob in item.blobs {
                let key = ObjectKey.make(prefix: settings.prefix, deviceID: deviceID, kind: item.kind.rawValue, createdAt: item.createdAt, id: item.id.rawValue, fileExtension: blob.part.rawValue)
                if let limiter { await limiter.acquire(blob.bytes.count) }
                let etag = try await store.put(key: key, blob: blob, contentType: blob.contentType)
                let normalized = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")).lowercased()
                guard normalized == blob.md5 else {
                    throw UploadError(.item, code: "etag-mismatch", message: "\(key): ETag \(normalized) is not the body's MD5 \(blob.md5)")
                }
            }
            return nil
        } catch let error as UploadError {
            return error
        } catch {
            return UploadError(.transient, code: "unexpected", message: "\(error)")
        }
    }

    /// Applies outcomes to the outbox and the worker state; returns how long to back off, if at all.
    func settle(_ outcomes: [(LeasedItem, UploadError?)]) -> Duration? {
        var delay: Duration?
        for (item, error) in outcomes {
            guard let error else {
                do {
                    try outbox.ack(item.id)
                    let resumed = state.withLock { state -> Bool in
                        state.backoff.reset()
                        return state.pausedReason != nil
                    }
                    if resumed { outbox.reportUplink(pausedReason: nil) }
                } catch {
                    logger.error("uploaded but could not remove from the outbox", metadata: ["item": "\(item.id)", "error": "\(error)"])
                }
                continue
            }
            outbox.reportUplinkError(error.description)
            switch error.disposition {
            case .pause:
                outbox.release(item.id)
                let reason = "\(error.code): \(error.message)"
                let changed = state.withLock { state -> Bool in
                    defer {
                        state.pausedReason = reason
                        state.pausedUntil = ContinuousClock.now + settings.pauseProbeInterval
                    }
                    return state.pausedReason == nil
                }
                outbox.reportUplink(pausedReason: reason)
                if changed {
                    logger.error("uplink paused: fix the credentials, permissions or clock, then run remotairctl outbox-flush",
                                 metadata: ["code": "\(error.code)", "status": "\(error.status.map(String.init) ?? "-")", "message": "\(error.message)"])
                }
            case .transient:
                try? outbox.fail(item.id, error: error.description, retryAt: Date())
                let wait = state.withLock { $0.backoff.fail() }
                delay = max(delay ?? .zero, wait)
                logger.warning("upload failed, backing off", metadata: ["item": "\(item.id)", "error": "\(error)", "wait_s": "\(String(format: "%.1f", Self.seconds(wait)))"])
            case .item:
                // This item's own backoff, from its attempt count: one bad item does not hold the others back.
                var own = Backoff(failures: item.attempts)
                let wait = own.fail()
                try? outbox.fail(item.id, error: error.description, retryAt: Date().addingTimeInterval(Self.seconds(wait)))
                logger.error("upload of item refused", metadata: ["item": "\(item.id)", "error": "\(error)"])
            }
        }
        return delay
    }
}

extension UploadWorker {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Paces uploads to a byte rate: each request waits until the bytes before it would have been sent at that rate.
final class BandwidthLimiter: Sendable {
    let bytesPerSecond: Int
    private let nextFree = Mutex<ContinuousClock.Instant?>(nil)

    init(bytesPerSecond: Int) {
        self.bytesPerSecond = bytesPerSecond
    }

    func acquire(_ bytes: Int) async {
        let now = ContinuousClock.now
        let cost = Duration.milliseconds(Int64(bytes) * 1000 / Int64(max(1, bytesPerSecond)))
        let start = nextFree.withLock { next -> ContinuousClock.Instant in
            let start = max(now, next ?? now)
            next = start + cost
            return start
        }
        if start > now { try? await Task.sleep(until: start, clock: .continuous) }
    }
}

import Logging
import ServiceLifecycle
import UnixSignals

/// Turns SIGHUP into a reload request; the handler validates everything before swapping.
struct ReloadService: Service {
    let logger: Logger
    let reload: @Sendable () async -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.notice("SIGHUP received")
            await reload()
        }
    }
}

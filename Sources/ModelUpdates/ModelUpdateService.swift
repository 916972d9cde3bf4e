import Logging
import ServiceLifecycle

/// Polls the channel every `models.poll_interval` (the first poll right at start, so a board that was off
/// catches up at once); stops on graceful shutdown.
public struct ModelUpdateService: Service {
    let updater: ModelUpdater
    let interval: Duration

    public init(updater: ModelUpdater, interval: Duration) {
        self.updater = updater
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await updater.check()
            do {
                try await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}

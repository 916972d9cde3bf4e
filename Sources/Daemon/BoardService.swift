import Health
import Logging
import ServiceLifecycle
import Settings
import Timestamps

/// Announces the board and keeps a heartbeat for it; the feature services hang off the same board.
struct BoardService: Service {
    let board: Board
    let health: HealthRegistry
    let logger: Logger

    func run() async throws {
        let name = "board"
        health.register(loop: name, period: .seconds(10))
        health.publish(name, state: "ok", detail: ["kind": board.kind.rawValue])
        logger.info("board ready", metadata: ["kind": .string(board.kind.rawValue)])
        defer { health.unregister(loop: name) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            health.beat(name)
            // Half the registered period is enough to never miss it; every 2 s was 5 beats per period (issue 20).
            // To the next 5 s grid point, in a wake-up of the sensors (WakeGrid).
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: WakeGrid.delayToNext(.seconds(5))) }
        }
    }
}

import Outbox
import ServiceLifecycle
import Settings

/// Applies a reloaded `mqtt:` section without a restart (issue 19): runs the MQTT sink of the settings in
/// force and, when a reload changes them, stops it the way a clean shutdown does (status `offline` published,
/// then a clean DISCONNECT, so the broker discards the last will) before starting the sink of the new ones.
/// Nothing runs while the section is absent; the events already queued for MQTT stay queued either way.
struct MQTTSupervisor: Service {
    let initial: MQTTSettings?
    let outbox: Outbox
    let make: @Sendable (MQTTSettings) -> MQTTService
    /// Every settings change a reload makes (nil: the section was removed), in order. A stream made before the
    /// supervisor, so the reloader can feed it before the sink (which needs the control dispatcher) exists.
    private let changes: AsyncStream<MQTTSettings?>

    init(initial: MQTTSettings?, outbox: Outbox, changes: AsyncStream<MQTTSettings?>, make: @escaping @Sendable (MQTTSettings) -> MQTTService) {
        self.initial = initial
        self.outbox = outbox
        self.changes = changes
        self.make = make
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var running = initial.map(start)
            for await next in changes {
                if let running { await stop(running) }
                outbox.mirrorAlarmsToMQTT(next != nil)
                running = next.map(start)
            }
            if let running { await stop(running) }
        }
    }

    private func start(_ settings: MQTTSettings) -> Task<Void, Never> {
        let service = make(settings)
        // Inherits the service group's task locals, so the sink's own graceful-shutdown handling still applies.
        return Task { try? await service.run() }
    }

    /// Cancelling the sink ends its loop as a graceful shutdown does: offline status, clean disconnect.
    private func stop(_ sink: Task<Void, Never>) async {
        sink.cancel()
        await sink.value
    }
}

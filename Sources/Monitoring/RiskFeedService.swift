import Foundation
import Health
import Risk
import ServiceLifecycle
import Timestamps

/// Feeds the risk engine with what is not a capture: sensor readings, sensor and camera states, outbox
/// fill; and sets the status LED from the overall risk. Polls every few seconds: the rules work on minutes.
public struct RiskFeedService: Service {
    let monitor: Monitor
    let inputs: any RiskInputs
    let health: HealthRegistry
    let indicator: any AlarmIndicator
    let period: Duration

    public static let loopName = "risk-feed"

    public init(monitor: Monitor, inputs: any RiskInputs, health: HealthRegistry, indicator: any AlarmIndicator, period: Duration = .seconds(2)) {
        self.monitor = monitor
        self.inputs = inputs
        self.health = health
        self.indicator = indicator
        self.period = period
    }

    public func run() async throws {
        health.register(loop: Self.loopName, period: .seconds(60))
        defer { health.unregister(loop: Self.loopName) }
        var feed = Feed()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            health.beat(Self.loopName)
            await feed.pass(monitor: monitor, inputs: inputs)
            await indicator.setAlarm(await monitor.overall == .alarm)
            // The risk component is healthy while it runs; what it found is detail, not a device fault.
            health.publish("risk", state: "ok", detail: ["severity": await monitor.overall.rawValue, "alarms": "\(await monitor.activeAlarms.count)"])
            // To the next grid point, in the sensors' wake-up (issue 20); never later than a period after this pass.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: WakeGrid.delayToNext(period)) }
        }
    }

    /// One pass of the feed, and what it remembers between passes (the newest reading seen per sensor and metric).
    struct Feed {
        var seen: [String: Date] = [:]

        mutating func pass(monitor: Monitor, inputs: any RiskInputs) async {
            for reading in await inputs.readings() {
                let key = "\(reading.sensorID)/\(reading.metric)"
                guard seen[key].map({ reading.timestamp > $0 }) ?? true else { continue }
                seen[key] = reading.timestamp
                await monitor.observe(metric: reading.metric, value: reading.value, unit: reading.unit)
            }
            var serials: [String: String] = [:]
            for sensor in await inputs.sensors() {
                // Only a faulted sensor counts: absent, warming and stale ones are expected at times.
                await monitor.observe(sensor: sensor.id, faulted: sensor.condition == .faulted)
                if let serial = sensor.serial { serials[sensor.id] = serial }
            }
            await monitor.updateSensorSerials(serials)
            for camera in await inputs.cameras() {
                // A degraded camera still delivers frames; only one that gives none is offline.
                await monitor.observe(camera: camera.name, online: camera.condition != .offline && camera.condition != .absent)
            }
            await monitor.observeOutbox()
        }
    }
}

import Health
import Testing

@Suite("health summary: one reading for remotairctl status and systemd's STATUS= line")
struct HealthSummaryTests {
    let start = ContinuousClock.now

    @Test("components are named <family>.<member>, the same for cameras and sensors")
    func names() {
        #expect(ComponentName.camera("upstream") == "camera.upstream")
        #expect(ComponentName.sensor("sps30") == "sensor.sps30")
    }

    @Test("ok, then degraded while a component reports anything but ok, then failing while a loop is overdue")
    func overallState() {
        let health = HealthRegistry()
        #expect(health.summary(at: start).state == .ok)
        #expect(health.summary(at: start).statusLine == "running", "nothing published yet")

        health.publish(ComponentName.sensor("sps30"), state: "ok", at: start)
        health.publish(ComponentName.camera("upstream"), state: "ok", detail: ["captures": "3"], at: start)
        let healthy = health.summary(at: start + .seconds(1))
        #expect(healthy.state == .ok)
        #expect(healthy.components.map(\.name) == ["camera.upstream", "sensor.sps30"])
        #expect(healthy.components[0].detail == ["captures": "3"])
        #expect(healthy.statusLine == "camera.upstream ok, sensor.sps30 ok")

        health.publish(ComponentName.camera("upstream"), state: "offline", at: start + .seconds(5))
        let degraded = health.summary(at: start + .seconds(6))
        #expect(degraded.state == .degraded)
        #expect(degraded.components[0].since == start + .seconds(5))
        #expect(degraded.statusLine == "camera.upstream offline, sensor.sps30 ok")

        health.register(loop: "risk-feed", period: .seconds(60), at: start)
        health.register(loop: "sensor.sps30", period: .seconds(10), at: start)
        let failing = health.summary(at: start + .seconds(61))
        #expect(failing.state == .failing)
        #expect(failing.stalledLoops == ["risk-feed", "sensor.sps30"])
        #expect(failing.statusLine == "stalled: risk-feed, sensor.sps30")
        #expect(failing.components.map(\.state) == ["offline", "stalled"], "a component whose loop is overdue shows as stalled")
    }
}

import Foundation
import Risk
import Testing

@Suite("Risk engine: alarms from captures, air quality and devices")
struct RiskEngineTests {
    static let settings = RiskSettings(
        camera: CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 2, window: 3),
        fusion: .any,
        airQuality: [
            "pm2_5": LevelRuleSettings(warn: 25, alarm: 50, clear: 20, sustain: 600),
            "co2": LevelRuleSettings(warn: 1000, alarm: 1500, clear: 900, sustain: 900),
        ],
        cameraOfflineAfter: 600, sensorFaultedAfter: 1800, lensBlockedCaptures: 3, outboxFullFraction: 0.9)

    @Test("a duct getting dirty raises exactly one alarm and clears after cleaning")
    func dirtyThenCleaned() {
        var engine = RiskEngine(settings: Self.settings)
        var events: [AlarmEvent] = []
        let script: [(Double, Double)] = [(0.1, 0.2), (0.3, 0.2), (0.7, 0.3), (0.8, 0.4), (0.9, 0.7), (0.95, 0.8), (0.2, 0.9), (0.1, 0.1), (0.1, 0.1), (0.1, 0.1)]
        for (index, (up, down)) in script.enumerated() {
            events += engine.observeCapture(["upstream": .scored(up), "downstream": .scored(down)], at: at(Double(index) * 15))
        }
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.first?.kind == .ductDirty)
        #expect(events.first?.id.hasPrefix("duct_dirty:duct:") == true, "ids spell the kind as documents do")
        #expect(events.first?.id == events.last?.id)
        #expect(events.first?.reason.contains("upstream") == true)
        #expect(events.first?.values["p_dirty.upstream"] == 0.8)
        #expect(events.first?.thresholds == ["raise": 0.6, "clear": 0.4])
        #expect(engine.activeAlarms.isEmpty)
    }

    @Test("PM2.5 must stay above a level for the sustain time; warn escalates to alarm; clear needs the clear level")
    func airQuality() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeMetric("pm2_5", value: 30, unit: "ug/m3", at: at(0)).isEmpty)
        #expect(engine.observeMetric("pm2_5", value: 12, at: at(5)).isEmpty, "a dip restarts the clock")
        #expect(engine.observeMetric("pm2_5", value: 30, at: at(6)).isEmpty)
        let warn = engine.observeMetric("pm2_5", value: 31, at: at(16))
        #expect(warn.map(\.transition) == [.raised])
        #expect(warn.first?.severity == .warning)
        #expect(warn.first?.thresholds == ["warn": 25, "alarm": 50, "clear": 20])
        #expect(engine.observeMetric("pm2_5", value: 60, at: at(17)).isEmpty)
        let alarm = engine.observeMetric("pm2_5", value: 70, at: at(27))
        #expect(alarm.map(\.transition) == [.updated])
        #expect(alarm.first?.severity == .alarm)
        #expect(alarm.first?.id == warn.first?.id)
        #expect(engine.observeMetric("pm2_5", value: 22, at: at(30)).isEmpty, "under warn but above clear keeps the alarm")
        #expect(engine.observeMetric("pm2_5", value: 19, at: at(31)).isEmpty)
        let cleared = engine.observeMetric("pm2_5", value: 18, at: at(41))
        #expect(cleared.map(\.transition) == [.cleared])
        #expect(engine.overall == .normal)
    }

    @Test("metrics without a rule are ignored")
    func unknownMetric() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeMetric("nox_index", value: 400, at: at(0)).isEmpty)
    }

    @Test("a camera offline longer than the limit raises, and clears as soon as it is back")
    func cameraOffline() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeCamera("upstream", online: false, at: at(0)).isEmpty)
        #expect(engine.observeCamera("upstream", online: false, at: at(9)).isEmpty)
        let raised = engine.observeCamera("upstream", online: false, at: at(10))
        #expect(raised.map(\.kind) == [.cameraOffline])
        #expect(raised.first?.subject == "upstream")
        #expect(engine.observeCamera("upstream", online: false, at: at(11)).isEmpty, "raised once, not per attempt")
        #expect(engine.observeCamera("upstream", online: true, at: at(12)).map(\.transition) == [.cleared])
    }

    @Test("a short outage raises nothing")
    func shortOutage() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeCamera("upstream", online: false, at: at(0)).isEmpty)
        #expect(engine.observeCamera("upstream", online: true, at: at(5)).isEmpty)
        #expect(engine.observeCamera("upstream", online: false, at: at(6)).isEmpty)
        #expect(engine.observeCamera("upstream", online: false, at: at(15)).isEmpty)
    }

    @Test("sensor faulted for the configured time")
    func sensorFaulted() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeSensor("sps30", faulted: true, at: at(0)).isEmpty)
        #expect(engine.observeSensor("sps30", faulted: true, at: at(30)).map(\.kind) == [.sensorFaulted])
        #expect(engine.observeSensor("sps30", faulted: false, at: at(31)).map(\.transition) == [.cleared])
    }

    @Test("a blocked lens on K captures in a row is its own alarm, not a dirty duct")
    func lensBlocked() {
        var engine = RiskEngine(settings: Self.settings)
        var events: [AlarmEvent] = []
        for minute in 0..<4 {
            events += engine.observeCapture(["upstream": .unusable(reason: "lens_blocked"), "downstream": .scored(0.1)], at: at(Double(minute)))
        }
        #expect(events.map(\.kind) == [.lensBlocked])
        #expect(engine.ductState == .clean)
        let cleared = engine.observeCapture(["upstream": .scored(0.1), "downstream": .scored(0.1)], at: at(5))
        #expect(cleared.map(\.transition) == [.cleared])
    }

    @Test("outbox nearly full")
    func outboxFull() {
        var engine = RiskEngine(settings: Self.settings)
        #expect(engine.observeOutbox(fillFraction: 0.5, at: at(0)).isEmpty)
        #expect(engine.observeOutbox(fillFraction: 0.95, at: at(1)).map(\.kind) == [.outboxFull])
        #expect(engine.observeOutbox(fillFraction: 0.2, at: at(2)).map(\.transition) == [.cleared])
    }

    @Test("state survives a restart: the same alarm is neither raised again nor forgotten")
    func persistence() throws {
        var engine = RiskEngine(settings: Self.settings)
        _ = engine.observeCapture(["upstream": .scored(0.9)], at: at(0))
        let raised = engine.observeCapture(["upstream": .scored(0.9)], at: at(15))
        #expect(raised.map(\.transition) == [.raised])

        let saved = try JSONEncoder().encode(engine)
        var restored = try JSONDecoder().decode(RiskEngine.self, from: saved)
        #expect(restored == engine)
        #expect(restored.observeCapture(["upstream": .scored(0.9)], at: at(30)).isEmpty)
        #expect(restored.activeAlarms.map(\.id) == [raised[0].id])
        _ = restored.observeCapture(["upstream": .scored(0.1)], at: at(45))
        let cleared = restored.observeCapture(["upstream": .scored(0.1)], at: at(60))
        #expect(cleared.map(\.transition) == [.cleared])
        #expect(cleared.first?.id == raised[0].id)
    }

    @Test("new settings on reload keep raised alarms")
    func reloadKeepsAlarms() {
        var engine = RiskEngine(settings: Self.settings)
        _ = engine.observeCapture(["upstream": .scored(0.9)], at: at(0))
        _ = engine.observeCapture(["upstream": .scored(0.9)], at: at(1))
        var changed = Self.settings
        changed.camera.raiseThreshold = 0.7
        engine.update(settings: changed)
        #expect(engine.activeAlarms.count == 1)
        #expect(engine.cameras["upstream"]?.state == .dirty)
        #expect(engine.settings.camera.raiseThreshold == 0.7)
    }
}

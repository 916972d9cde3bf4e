import Foundation
import Sensors
import Settings
import Testing

@Suite struct SensorReadingsTests {
    static func reading(_ sensor: String, _ metric: Metric, _ value: Double, at seconds: Double) -> Reading {
        Reading(sensorID: sensor, sensorType: .sht4x, serial: nil, metric: metric, value: value,
                timestamp: Date(timeIntervalSince1970: 1_800_000_000 + seconds))
    }

    @Test func latestAndWindows() {
        let store = SensorReadings(retention: .seconds(100))
        for second in 0..<300 {
            store.publish([Self.reading("a", .temperature, Double(second), at: Double(second)),
                           Self.reading("b", .temperature, Double(second) + 0.5, at: Double(second) + 0.5)])
        }
        #expect(store.latest(metric: .temperature)?.sensorID == "b")
        #expect(store.latest(metric: .temperature)?.value == 299.5)
        #expect(store.latest(metric: .co2) == nil)
        let window = store.window(metric: .temperature, duration: .seconds(10))
        #expect(window.count == 21)  // 289.5 ... 299.5 from both sensors
        #expect(window.first!.timestamp <= window.last!.timestamp)
        // Retention bounds memory: never more than retention plus the pruning batch.
        let all = store.window(metric: .temperature, duration: .seconds(10_000))
        #expect(all.count <= 2 * 111 && all.count >= 2 * 100)
        #expect(store.latest().map(\.sensorID) == ["a", "b"])
        #expect(store.latest().first?.unit == "degC")
    }

    @Test func calibrationKnowsEveryMetric() {
        #expect(SensorCalibration.knownMetrics == Metric.allCases.map(\.rawValue))
    }
}

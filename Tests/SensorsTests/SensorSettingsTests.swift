import Foundation
import Settings
import TestSupport
import Testing

@Suite struct SensorSettingsTests {
    @Test func parsesDevicesWithDefaults() throws {
        let configuration = try DaemonConfiguration.parse("""
            device_id: test
            sensors:
              devices:
                - {id: pm, type: sps30, bus: /dev/i2c-1}
                - {id: rh, type: sht4x, bus: /dev/i2c-1, address: 0x45, interval: 2s, enabled: false}
            """, file: "/etc/remotair/test.yaml")
        let devices = configuration.sensors.devices
        #expect(devices.count == 2)
        #expect(devices[0].address == 0x69 && devices[0].interval == .seconds(1) && devices[0].enabled)
        #expect(devices[1].address == 0x45 && devices[1].interval == .seconds(2) && !devices[1].enabled)
        #expect(SensorCalibration.path(for: configuration) == "/etc/remotair/calibration/sensors.yaml")
    }

    @Test(arguments: [
        ("- {id: a, type: sps30, bus: b, colour: red}", "sensors.devices[0].colour"),
        ("- {id: a, type: sps31, bus: b}", "sensors.devices[0].type"),
        ("- {id: a, type: sps30, bus: b, address: 0x80}", "sensors.devices[0].address"),
        ("- {id: a, type: sgp41, bus: b, interval: 30s}", "sensors.devices[0].interval"),
        ("- {id: a, type: sps30, bus: b}\n    - {id: a, type: sht4x, bus: b}", "sensors.devices[1].id"),
        ("- {id: a, type: sht4x, bus: b}\n    - {id: c, type: sht4x, bus: b}", "sensors.devices[1].bus"),
    ])
    func rejectsBadDevices(yaml: String, keyPath: String) {
        let text = "device_id: t\nsensors:\n  devices:\n    \(yaml)\n"
        #expect {
            _ = try DaemonConfiguration.parse(text, file: "t.yaml")
        } throws: { error in
            (error as? ConfigurationError)?.keyPath == keyPath
        }
    }

    @Test func calibrationSectionsAndLabels() throws {
        let calibration = try SensorCalibration.parse("""
            default:
              metrics:
                temperature: {offset: -0.5}
                co2: {gain: 1.02}
              scd4x: {temperature_offset: 3.5, altitude: 420}
            boards:
              board-7:
                metrics:
                  temperature: {offset: -0.8}
                sps30: {cleaning_interval: 4d}
            """, file: "sensors.yaml")
        let other = calibration.resolved(board: "board-1")
        #expect(other.corrections["temperature"]?.correction.offset == -0.5)
        #expect(other.corrections["temperature"]?.label == "default")
        #expect(other.scd4xAltitude == 420 && other.scd4xTemperatureOffset == 3.5)
        #expect(other.sps30CleaningInterval == .seconds(604_800))
        let seven = calibration.resolved(board: "board-7")
        #expect(seven.corrections["temperature"]?.correction.offset == -0.8)
        #expect(seven.corrections["temperature"]?.label == "board board-7")
        #expect(seven.corrections["co2"]?.correction.gain == 1.02)
        #expect(seven.sps30CleaningInterval == .seconds(4 * 86_400))
    }

    @Test(arguments: [
        ("default:\n  metrics:\n    temprature: {offset: 1}", "default.metrics.temprature"),
        ("default:\n  metrics:\n    co2: {offset: 1, slope: 2}", "default.metrics.co2.slope"),
        ("default:\n  scd4x: {temperature_offset: 30}", "default.scd4x.temperature_offset"),
        ("default:\n  sps30: {interval: 1d}", "default.sps30.interval"),
        ("defaults: {}", "defaults"),
    ])
    func calibrationRejectsUnknownKeysAndRanges(yaml: String, keyPath: String) {
        #expect {
            _ = try SensorCalibration.parse(yaml, file: "sensors.yaml")
        } throws: { error in
            (error as? ConfigurationError)?.keyPath == keyPath
        }
    }

    @Test func shippedFilesAreValid() throws {
        let root = PackagePaths.root
        let calibration = try SensorCalibration.load(file: "\(root)/Calibration/sensors.yaml")
        #expect(calibration.resolved(board: "demo-board").corrections["temperature"]?.label == "board demo-board")
        let production = try DaemonConfiguration.load(file: "\(root)/systemd/remotaird.yaml", environment: [:])
        #expect(production.sensors.devices.map(\.type.rawValue).sorted() == ["bme280", "scd4x", "sdp8xx", "sgp41", "sht4x", "sps30"])
        let demo = try DaemonConfiguration.load(file: "\(root)/scripts/demo.yaml", environment: [:])
        #expect(demo.sensors.devices.count == 6 && demo.sensors.devices.allSatisfy { $0.bus == "sim-i2c-1" })
        #expect(try SensorCalibration.load(for: demo).corrections["temperature"]?.label == "board demo-board")
    }
}

import Geometry
import Settings
import Testing
import TestSupport

@Suite("Cameras and GPIO configuration")
struct CamerasSettingsTests {
    static let example = """
    device_id: test-board
    cameras:
      reopen_backoff_max: 20s
      devices:
        - name: upstream
          device: /dev/v4l/by-path/platform-xhci-hcd.0-usb-0:1:1.0-video-index0
          width: 1280
          height: 720
          format: mjpeg
          warmup_frames: 8
          timeout: 4s
          jpeg_quality: 90
          controls:
            exposure: 300
            gain: 16
            power_line_frequency: 50hz
          illumination: {line: 17, active_low: true}
          region_of_interest: {x: 0.1, y: 0.2, width: 0.8, height: 0.6}
          offline_alarm_after: 10m
        - name: downstream
          device: /dev/v4l/by-id/usb-Camera-video-index0
          format: yuyv
          illumination: LED_DOWN
    gpio:
      chip: gpiochip0
      status_led: 22
      fault_led: {line: LED_FAULT, chip: gpiochip1}
      button: {line: 27, active_low: true}
      button_debounce: 30ms
      illumination_settle: 300ms
    """

    @Test func fullExampleParses() throws {
        let configuration = try DaemonConfiguration.parse(Self.example, file: "test.yaml")
        let cameras = configuration.cameras
        #expect(cameras.reopenBackoffMax == .seconds(20))
        #expect(cameras.devices.map(\.name) == ["upstream", "downstream"])
        let upstream = cameras.devices[0]
        #expect(upstream.warmupFrames == 8 && upstream.timeout == .seconds(4) && upstream.jpegQuality == 90)
        #expect(upstream.controls == [CameraControlSetting(name: "exposure", value: 300), CameraControlSetting(name: "gain", value: 16),
                                      CameraControlSetting(name: "power_line_frequency", value: 1)])
        #expect(upstream.illumination == GPIOLineSetting(line: .offset(17), activeLow: true))
        #expect(upstream.regionOfInterest == NormalizedRect(x: 0.1, y: 0.2, width: 0.8, height: 0.6))
        #expect(upstream.offlineAlarmAfter == .seconds(600))
        let downstream = cameras.devices[1]
        #expect(downstream.format == .yuyv && downstream.width == 1280)
        #expect(downstream.illumination == GPIOLineSetting(line: .name("LED_DOWN")))
        let gpio = configuration.gpio
        #expect(gpio.chip == "gpiochip0" && gpio.statusLED == GPIOLineSetting(line: .offset(22)))
        #expect(gpio.faultLED == GPIOLineSetting(line: .name("LED_FAULT"), chip: "gpiochip1"))
        #expect(gpio.button == GPIOLineSetting(line: .offset(27), activeLow: true))
        #expect(gpio.buttonDebounce == .milliseconds(30) && gpio.illuminationSettle == .milliseconds(300))
    }

    @Test func mistakesAreNamedWithTheirKeyPath() {
        func problem(_ text: String) -> String {
            do {
                _ = try DaemonConfiguration.parse("device_id: t\n" + text, file: "t.yaml")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(problem("cameras:\n  devices:\n    - {name: a, device: /dev/video0, exposure: 3}").contains("exposure: unknown key"))
        #expect(problem("cameras:\n  devices:\n    - {name: a, device: /dev/video0}\n    - {name: a, device: /dev/video2}").contains("used twice"))
        #expect(problem("cameras:\n  devices:\n    - {name: 'a b', device: /dev/video0}").contains("letters, digits"))
        #expect(problem("cameras:\n  devices:\n    - {name: a, device: /dev/video0, format: h264}").contains("not one of"))
        #expect(problem("cameras:\n  devices:\n    - {name: a, device: /dev/video0, region_of_interest: {x: 0.5, width: 0.8}}").contains("inside the frame"))
        #expect(problem("cameras:\n  devices:\n    - {name: a, device: /dev/video0, controls: {power_line_frequency: 55hz}}").contains("50hz"))
        #expect(problem("gpio:\n  button: {line: 27, pull: up}").contains("pull: unknown key"))
        #expect(problem("gpio:\n  status_led: 5000").contains("out of range"))
        #expect(problem("cameras:\n  devices:\n    - {name: a}").contains("device: required key is missing"))
    }

    @Test func shippedExamplesParse() throws {
        for file in ["systemd/remotaird.yaml", "scripts/demo.yaml"] {
            let configuration = try DaemonConfiguration.load(file: PackagePaths.root + "/" + file, environment: [:])
            #expect(configuration.cameras.devices.count == 2, "\(file)")
        }
    }
}

import Foundation
import GPIO
import Logging
import ServiceLifecycle
import Settings

/// A camera that cannot be used at all (its driver object could not be built); every call fails
/// with the reason, so the supervisor reports it `absent` and the daemon runs on.
public actor UnavailableCamera: Camera {
    public nonisolated let name: String
    let reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var isOpen: Bool { false }
    public var isPresent: Bool { false }
    public func open() async throws(CameraError) { throw CameraError(kind: .absent, camera: name, detail: reason) }
    public func capture(_ request: StillRequest) async throws(CameraError) -> Still { throw CameraError(kind: .absent, camera: name, detail: reason) }
    public func close() async {}
}

/// Everything the cameras feature contributes, built from configuration: one supervisor per camera,
/// the capture coordinator (the public capture API), the camera event stream, the status indicator,
/// and the services to run (supervisors, status LED, push button).
public struct CameraSet: Sendable {
    public let coordinator: CaptureCoordinator
    public let supervisors: [CameraSupervisor]
    /// `camera_offline` / `camera_recovered`; one consumer (the main job).
    public let events: AsyncStream<CameraEvent>
    public let indicator: StatusIndicator
    /// Start order: supervisors, then the status LED and the button.
    public let services: [any Service]

    /// Builds the set. GPIO problems (missing chip, busy line) are logged and the feature they
    /// serve is left out: a camera without its LED still captures.
    public static func make(
        cameras: CamerasSettings, gpio: GPIOSettings, calibration: QualityCalibration,
        makeCamera: (CameraSettings) throws(CameraError) -> any Camera,
        openChip: (String) throws(GPIOError) -> any GPIOChip,
        buttonTrigger: (@Sendable () async -> Void)? = nil,
        onStateChange: (@Sendable (String, CameraState) async -> Void)? = nil,
        logger: Logger = Logger(label: "vision")
    ) -> CameraSet {
        let (events, continuation) = AsyncStream<CameraEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let indicator = StatusIndicator()
        var chips: [String: any GPIOChip] = [:]

        func requestLine(_ setting: GPIOLineSetting, purpose: String, output: Bool) -> (any GPIOLine)? {
            guard let descriptor = setting.chip ?? gpio.chip else {
                logger.warning("GPIO line configured without a chip: set gpio.chip", metadata: ["purpose": .string(purpose)])
                return nil
            }
            let id: GPIOLineID = switch setting.line {
            case .offset(let offset): .offset(offset)
            case .name(let name): .name(name)
            }
            do throws(GPIOError) {
                let chip: any GPIOChip
                if let cached = chips[descriptor] {
                    chip = cached
                } else {
                    chip = try openChip(descriptor)
                    chips[descriptor] = chip
                }
                let consumer = "remotaird-\(purpose)"
                return output
                    ? try chip.requestOutput(id, consumer: consumer, initialValue: false, activeLow: setting.activeLow)
                    : try chip.requestEdgeEvents(id, consumer: consumer, edge: .falling, activeLow: setting.activeLow, pullUp: setting.activeLow)
            } catch {
                logger.error("GPIO line unavailable; continuing without it", metadata: ["purpose": .string(purpose), "error": .string("\(error)")])
                return nil
            }
        }

        var supervisors: [CameraSupervisor] = []
        for settings in cameras.devices {
            let camera: any Camera
            do throws(CameraError) {
                camera = try makeCamera(settings)
            } catch {
                camera = UnavailableCamera(name: settings.name, reason: error.detail)
            }
            let light = settings.illumination.flatMap { requestLine($0, purpose: "light-\(settings.name)", output: true) }
            let supervisor = CameraSupervisor(
                camera: camera, settings: settings, backoffMax: cameras.reopenBackoffMax,
                illumination: light, settle: gpio.illuminationSettle, calibration: calibration,
                events: continuation,
                onStateChange: { name, state in
                    await indicator.setFault("camera:\(name)", state == .offline || state == .absent)
                    await onStateChange?(name, state)
                },
                logger: logger)
            supervisors.append(supervisor)
        }
        let coordinator = CaptureCoordinator(supervisors: supervisors)

        var services: [any Service] = supervisors
        if let setting = gpio.statusLED, let statusLine = requestLine(setting, purpose: "status", output: true) {
            let faultLine = gpio.faultLED.flatMap { requestLine($0, purpose: "fault", output: true) }
            services.append(StatusLEDService(indicator: indicator, statusLine: statusLine, faultLine: faultLine, logger: logger))
        }
        if let setting = gpio.button, let buttonLine = requestLine(setting, purpose: "button", output: false) {
            let trigger = buttonTrigger ?? { [coordinator, logger] in
                let result = await coordinator.capture(cameras: nil)
                for camera in result.cameras {
                    switch camera.outcome {
                    case .success(let snapshot):
                        logger.notice("manual capture", metadata: ["capture": .string(result.captureID), "camera": .string(camera.camera),
                                                               "bytes": .stringConvertible(snapshot.jpeg.count), "quality": .string(snapshot.quality.flags.description)])
                    case .failure(let error):
                        logger.warning("manual capture failed", metadata: ["capture": .string(result.captureID), "camera": .string(camera.camera),
                                                                      "error": .string(error.description)])
                    }
                }
            }
            services.append(ButtonService(line: buttonLine, debounce: gpio.buttonDebounce, logger: logger, trigger: trigger))
        }
        return CameraSet(coordinator: coordinator, supervisors: supervisors, events: events, indicator: indicator, services: services)
    }

    /// Light off and cameras closed, for one-shot tools that do not run the services.
    public func shutdown() async {
        for supervisor in supervisors { await supervisor.shutdown() }
    }
}

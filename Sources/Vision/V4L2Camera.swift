import Foundation
import JPEG
import Logging
import Settings
import V4L2

/// A camera over a V4L2 node (real through libv4l2, or the fake driver): the capture policy of
/// issue 4: QUERYCAP check, MJPEG at the configured size with a YUYV fallback, the driver-adjusted
/// format re-read, controls by name, 4 mmap buffers, poll with timeout, DQBUF error flags,
/// STREAMOFF/munmap/close on every exit path.
public actor V4L2Camera: Camera {
    public nonisolated let name: String
    private let settings: CameraSettings
    private let device: any VideoDeviceIO
    private let validator: FrameValidator
    private let logger: Logger
    private var format: PixelFormat?
    private var bufferCount = 0
    private var streaming = false
    /// How long one poll waits before the loop yields to other tasks and checks cancellation.
    private let pollSlice: Duration = .milliseconds(20)

    public static let bufferCount = 4

    /// `device` is created here and owned by the actor from then on.
    public init(settings: CameraSettings, device makeDevice: @Sendable (String) -> any VideoDeviceIO, logger: Logger = Logger(label: "vision")) throws(CameraError) {
        name = settings.name
        self.settings = settings
        device = makeDevice(settings.device)
        self.logger = logger
        do {
            validator = try FrameValidator()
        } catch {
            throw CameraError(kind: .other, camera: settings.name, detail: "\(error)")
        }
    }

    public var isOpen: Bool { device.isOpen && format != nil }

    public var isPresent: Bool { device.nodeExists }

    /// The negotiated format (nil while closed).
    public var negotiatedFormat: PixelFormat? { format }

    public func open() async throws(CameraError) {
        if isOpen { return }
        do {
            try device.open()
            let capabilities = try device.queryCapabilities()
            guard capabilities.isStreamingCapture else {
                throw CameraError(kind: .notCaptureDevice, camera: name,
                                  detail: "\(device.path) (\(capabilities.driver) \(capabilities.card)) cannot stream video capture; uvcvideo's second node per camera is metadata: use the video-index0 node")
            }
            format = try negotiateFormat()
            applyControls()
            bufferCount = try device.requestBuffers(count: Self.bufferCount)
            guard bufferCount > 0 else { throw CameraError(kind: .other, camera: name, detail: "driver granted no buffers") }
            for index in 0..<bufferCount { try device.mapBuffer(index: index) }
        } catch let error as CameraError {
            release()
            throw error
        } catch let error as V4L2Error {
            release()
            throw CameraError(error, camera: name)
        } catch {
            release()
            throw CameraError(kind: .other, camera: name, detail: "\(error)")
        }
    }

    /// MJPEG at the configured size when preferred and offered, otherwise YUYV; each attempt is
    /// re-read with G_FMT because drivers adjust sizes (and some ignore the pixel format).
    private func negotiateFormat() throws -> PixelFormat {
        let offered = try device.formats().map(\.pixelFormat)
        let preference: [FourCC] = settings.format == .mjpeg ? [.mjpeg, .yuyv] : [.yuyv]
        let target = FrameSize(width: settings.width, height: settings.height)
        for candidate in preference where offered.contains(candidate) {
            let sizes = try? device.frameSizes(for: candidate)
            let size = sizes?.closest(to: target) ?? target
            _ = try device.setFormat(PixelFormat(width: size.width, height: size.height, pixelFormat: candidate))
            let actual = try device.getFormat()
            guard actual.pixelFormat == candidate else { continue }
            if actual.width != settings.width || actual.height != settings.height {
                logger.notice("camera size adjusted by the driver", metadata: [
                    "camera": .string(name), "requested": .string("\(target)"), "actual": .string("\(actual.width)x\(actual.height)")])
            }
            return actual
        }
        throw CameraError(kind: .formatRefused, camera: name,
                          detail: "offers \(offered.map(\.description).joined(separator: ", ")); need \(preference.map(\.description).joined(separator: " or "))")
    }

    /// Sets configured controls by short name or driver name; a missing or refused control is logged,
    /// not fatal (a camera without manual exposure still takes usable pictures).
    private func applyControls() {
        guard !settings.controls.isEmpty else { return }
        let available = (try? device.controls()) ?? []
        for control in settings.controls {
            // UVC cameras ignore manual exposure and white balance while their automatic mode is on.
            if control.name == "exposure", let auto = Self.find(["auto exposure", "exposure, auto"], in: available) {
                try? device.setControl(id: auto.id, value: 1)  // V4L2_EXPOSURE_MANUAL
            }
            if control.name == "white_balance", let auto = Self.find(["white balance, automatic", "white balance temperature, auto"], in: available) {
                try? device.setControl(id: auto.id, value: 0)
            }
            guard let info = Self.find(Self.aliases(for: control.name), in: available) else {
                logger.warning("camera control not offered", metadata: ["camera": .string(name), "control": .string(control.name)])
                continue
            }
            if !(Int(info.minimum)...Int(info.maximum)).contains(control.value) {
                // The kernel clamps integer controls silently; say so, so the configuration gets fixed.
                logger.warning("camera control out of range; the driver clamps it", metadata: [
                    "camera": .string(name), "control": .string(info.name), "value": .stringConvertible(control.value),
                    "range": .string("\(info.minimum)...\(info.maximum)")])
            }
            do {
                try device.setControl(id: info.id, value: Int32(clamping: control.value))
            } catch {
                logger.warning("camera control refused", metadata: [
                    "camera": .string(name), "control": .string(info.name), "value": .stringConvertible(control.value), "error": .string("\(error)")])
            }
        }
    }

    static func aliases(for name: String) -> [String] {
        switch name {
        case "exposure": ["exposure time, absolute", "exposure (absolute)", "exposure, absolute", "exposure"]
        case "gain": ["gain", "analogue gain"]
        case "white_balance": ["white balance temperature", "white balance temperature, manual"]
        case "power_line_frequency": ["power line frequency"]
        default: [name.lowercased().replacingOccurrences(of: "_", with: " ")]
        }
    }

    static func find(_ names: [String], in controls: [ControlInfo]) -> ControlInfo? {
        for wanted in names {
            if let match = controls.first(where: { $0.name.lowercased() == wanted && $0.flags & ControlInfo.disabledFlag == 0 }) { return match }
        }
        return nil
    }

    public func capture(_ request: StillRequest) async throws(CameraError) -> Still {
        if !isOpen { try await open() }
        guard let format else { throw CameraError(kind: .other, camera: name, detail: "not open") }
        defer { stopStreaming() }
        do {
            for index in 0..<bufferCount { try device.queueBuffer(index: index) }
            try device.streamOn()
            streaming = true
        } catch {
            throw CameraError(error, camera: name)
        }

        let clock = ContinuousClock()
        let deadline = clock.now + request.timeout
        var dropped = 0
        var corrupt = 0
        var lastProblem: String?
        var kept: ValidFrame?
        while kept == nil {
            if Task.isCancelled { throw CameraError(kind: .cancelled, camera: name, detail: "capture cancelled") }
            guard clock.now < deadline else {
                throw CameraError(kind: .timeout, camera: name,
                                  detail: "no valid frame within \(request.timeout) (\(dropped) warm-up, \(corrupt) corrupt\(lastProblem.map { "; last: \($0)" } ?? ""))")
            }
            let events: PollEvents
            do {
                events = try device.poll(timeout: min(pollSlice, deadline - clock.now))
            } catch {
                throw CameraError(error, camera: name)
            }
            if events.isEmpty {
                await Task.yield()
                continue
            }
            // POLLERR|POLLHUP: unplugged or a queue error; DQBUF tells which (ENODEV or EIO).
            guard let buffer = try dequeue(events: events) else {
                await Task.yield()
                continue
            }
            if buffer.hasError {
                corrupt += 1
                lastProblem = FrameProblem.driverFlaggedError.description
                try requeue(buffer.index)
            } else if dropped < request.warmupFrames {
                dropped += 1
                try requeue(buffer.index)
            } else {
                let bytes: [UInt8]
                do {
                    bytes = try device.bufferContents(index: buffer.index, count: buffer.bytesUsed)
                } catch {
                    throw CameraError(error, camera: name)
                }
                try requeue(buffer.index)
                switch validator.validate(RawFrame(bytes: bytes, format: format, sequence: buffer.sequence), jpegQuality: request.jpegQuality) {
                case .success(let frame):
                    kept = frame
                case .failure(let problem):
                    corrupt += 1
                    lastProblem = problem.description
                }
            }
            if corrupt > request.maxCorruptFrames {
                throw CameraError(kind: .corruptFrames, camera: name, detail: "\(corrupt) corrupt frames; last: \(lastProblem ?? "?")")
            }
            await Task.yield()
        }
        // Freshest: if newer frames are already waiting, prefer the newest valid one (at most one
        // queue's worth, so a camera delivering faster than we validate cannot keep us here).
        for _ in 0..<bufferCount {
            guard let events = try? device.poll(timeout: .zero), events.contains(.readable),
                  let buffer = try? device.dequeueBuffer() else { break }
            defer { try? device.queueBuffer(index: buffer.index) }
            guard !buffer.hasError, let bytes = try? device.bufferContents(index: buffer.index, count: buffer.bytesUsed) else { continue }
            if case .success(let frame) = validator.validate(RawFrame(bytes: bytes, format: format, sequence: buffer.sequence), jpegQuality: request.jpegQuality) {
                kept = frame
            }
        }
        guard let kept else { throw CameraError(kind: .other, camera: name, detail: "no frame kept") }
        return Still(frame: kept, corruptFrames: corrupt, droppedFrames: dropped)
    }

    private func dequeue(events: PollEvents) throws(CameraError) -> DequeuedBuffer? {
        do {
            return try device.dequeueBuffer()
        } catch where error.kind == .wouldBlock {
            if events.contains(.hangUp) || events.contains(.error) {
                throw CameraError(kind: .deviceGone, camera: name, detail: "poll reported \(events.contains(.hangUp) ? "POLLHUP" : "POLLERR")")
            }
            return nil
        } catch {
            throw CameraError(error, camera: name)
        }
    }

    private func requeue(_ index: Int) throws(CameraError) {
        do {
            try device.queueBuffer(index: index)
        } catch {
            throw CameraError(error, camera: name)
        }
    }

    /// STREAMOFF between captures: the camera idles, saving power and USB bandwidth.
    private func stopStreaming() {
        guard streaming else { return }
        streaming = false
        try? device.streamOff()
    }

    public func close() async {
        release()
    }

    /// Every exit path: STREAMOFF, munmap, REQBUFS 0, close. Errors are ignored on purpose (after an
    /// unplug they all fail with ENODEV; close still releases the file handle).
    private func release() {
        stopStreaming()
        device.unmapBuffers()
        if bufferCount > 0 && device.isOpen { _ = try? device.requestBuffers(count: 0) }
        bufferCount = 0
        format = nil
        device.close()
    }
}

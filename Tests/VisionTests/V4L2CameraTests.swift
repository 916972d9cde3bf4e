import Glibc
import JPEG
import Settings
import Testing
import V4L2
import V4L2Testing
@testable import Vision

@Suite("V4L2 camera on the fake driver")
struct V4L2CameraTests {
    static func settings(format: CameraSettings.FormatPreference = .mjpeg, width: Int = 640, height: Int = 480) -> CameraSettings {
        var settings = CameraSettings(name: "upstream", device: "/dev/v4l/by-path/fake-video-index0")
        settings.width = width
        settings.height = height
        settings.format = format
        settings.warmupFrames = 3
        settings.timeout = .seconds(5)
        settings.maxCorruptFrames = 3
        return settings
    }

    static func mjpegDevice(formats: [FakeVideoDevice.Format] = FakeVideoDevice.uvcFormats,
                            capabilities: VideoCapabilities = FakeVideoDevice.captureCapabilities) -> FakeVideoDevice {
        FakeVideoDevice(capabilities: capabilities, formats: formats) { format, _ in
            format.pixelFormat == .yuyv ? CameraFixtures.yuyvFrame(format) : CameraFixtures.mjpegFrame
        }
    }

    // Generous: tests run in parallel on 2 cores in debug builds; only the stall tests wait out a timeout.
    static let request = StillRequest(warmupFrames: 3, timeout: .seconds(5), maxCorruptFrames: 3, jpegQuality: 80)

    @Test func capturesMJPEGAfterWarmupAndStopsStreaming() async throws {
        let fake = Self.mjpegDevice()
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let still = try await camera.capture(Self.request)
        #expect(still.frame.jpeg == CameraFixtures.mjpegFrame)
        #expect(still.frame.sourceFormat == "MJPG" && still.frame.width == 640 && still.frame.height == 480)
        #expect(still.droppedFrames == 3 && still.corruptFrames == 0)
        #expect(!fake.isStreaming)
        let log = fake.callLog
        let on = try #require(log.firstIndex(of: "VIDIOC_STREAMON"))
        let off = try #require(log.lastIndex(of: "VIDIOC_STREAMOFF"))
        #expect(on < off)
        #expect(log.filter { $0 == "VIDIOC_QUERYBUF" }.count == V4L2Camera.bufferCount)
        // Idle between captures: a second capture streams again from the same open device.
        _ = try await camera.capture(Self.request)
        #expect(fake.openCount == 1 && !fake.isStreaming)
        await camera.close()
        #expect(fake.mappedBufferCount == 0 && fake.allocatedBufferCount == 0 && !fake.isOpen)
    }

    @Test func fallsBackToYUYVAndEncodes() async throws {
        let fake = Self.mjpegDevice(formats: FakeVideoDevice.yuyvOnlyFormats)
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let still = try await camera.capture(Self.request)
        #expect(still.frame.sourceFormat == "YUYV")
        let decoded = try JPEGDecoder().decode(still.frame.jpeg)
        #expect(decoded.width == 640 && decoded.height == 480)
        #expect(await camera.negotiatedFormat?.pixelFormat == .yuyv)
    }

    @Test func driverAdjustedSizeIsReadBack() async throws {
        let fake = Self.mjpegDevice()
        let camera = try V4L2Camera(settings: Self.settings(width: 1200, height: 700), device: { _ in fake })
        try await camera.open()
        let format = try #require(await camera.negotiatedFormat)
        #expect(format.width == 1280 && format.height == 720)
    }

    @Test func metadataNodeIsRefusedByName() async throws {
        let fake = Self.mjpegDevice(capabilities: FakeVideoDevice.metadataCapabilities)
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let error = await #expect(throws: CameraError.self) { try await camera.open() }
        #expect(error?.kind == .notCaptureDevice)
        #expect(!fake.isOpen)
    }

    @Test func formatWithoutMJPEGOrYUYVIsRefused() async throws {
        let grey = [FakeVideoDevice.Format(pixelFormat: FourCC("GREY"), description: "8-bit Greyscale", sizes: [FrameSize(width: 640, height: 480)])]
        let fake = Self.mjpegDevice(formats: grey)
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let error = await #expect(throws: CameraError.self) { try await camera.open() }
        #expect(error?.kind == .formatRefused)
        #expect(error?.detail.contains("GREY") == true)
        #expect(!fake.isOpen && fake.allocatedBufferCount == 0)
    }

    @Test func driverFlaggedBuffersAreSkippedAndCounted() async throws {
        let fake = Self.mjpegDevice()
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        try await camera.open()
        fake.injectBufferErrors(2)
        let still = try await camera.capture(Self.request)
        #expect(still.corruptFrames == 2)
        #expect(still.frame.jpeg == CameraFixtures.mjpegFrame)
    }

    @Test func tooManyCorruptFramesFailTheCapture() async throws {
        let truncated = Array(CameraFixtures.mjpegFrame.prefix(CameraFixtures.mjpegFrame.count / 2))
        let fake = FakeVideoDevice { _, _ in truncated }
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let error = await #expect(throws: CameraError.self) { try await camera.capture(Self.request) }
        #expect(error?.kind == .corruptFrames)
        #expect(!fake.isStreaming)
    }

    @Test func unplugMidStreamIsDeviceGone() async throws {
        let fake = Self.mjpegDevice()
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        try await camera.open()
        fake.unplug(afterFrames: 2)
        let error = await #expect(throws: CameraError.self) { try await camera.capture(Self.request) }
        #expect(error?.kind == .deviceGone)
        await camera.close()
        #expect(fake.mappedBufferCount == 0 && !fake.isOpen)
        #expect(fake.callLog.last == "close")
    }

    @Test func streamingIOErrorIsNamed() async throws {
        let fake = Self.mjpegDevice()
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        try await camera.open()
        fake.injectDequeueError(EIO)
        let error = await #expect(throws: CameraError.self) { try await camera.capture(Self.request) }
        #expect(error?.kind == .io)
        #expect(!fake.isStreaming)
    }

    @Test func stalledCameraTimesOut() async throws {
        let fake = Self.mjpegDevice()
        fake.setStalled(true)
        let camera = try V4L2Camera(settings: Self.settings(), device: { _ in fake })
        let error = await #expect(throws: CameraError.self) {
            try await camera.capture(StillRequest(warmupFrames: 0, timeout: .milliseconds(100), maxCorruptFrames: 3, jpegQuality: 80))
        }
        #expect(error?.kind == .timeout)
        #expect(!fake.isStreaming)
    }

    @Test func controlsAreSetByName() async throws {
        let fake = Self.mjpegDevice()
        var settings = Self.settings()
        settings.controls = [
            CameraControlSetting(name: "exposure", value: 400),
            CameraControlSetting(name: "power_line_frequency", value: 1),
            CameraControlSetting(name: "gain", value: 999),        // out of range: the driver clamps it; logged
            CameraControlSetting(name: "Brightness", value: 10),   // not offered: logged
        ]
        let camera = try V4L2Camera(settings: settings, device: { _ in fake })
        try await camera.open()
        #expect(fake.controlValue(id: 0x009A_0901) == 1)    // Auto Exposure: manual mode
        #expect(fake.controlValue(id: 0x009A_0902) == 400)  // Exposure Time, Absolute
        #expect(fake.controlValue(id: 0x0098_0918) == 1)    // Power Line Frequency: 50 Hz
        #expect(fake.controlValue(id: 0x0098_0913) == 255)  // Gain clamped to its maximum, as v4l2-ctrls does
    }
}

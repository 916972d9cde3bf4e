import Glibc
import Testing
import V4L2
import V4L2Testing

/// The fake driver must behave like the kernel (videobuf2, uvcvideo, vivid) at the ioctl boundary,
/// or tests of the camera policy prove nothing.
@Suite("Fake V4L2 device")
struct FakeVideoDeviceTests {
    static func frame(_ format: PixelFormat, _ sequence: UInt32) -> [UInt8] {
        [0xFF, 0xD8, 0xFF, UInt8(truncatingIfNeeded: sequence)] + [UInt8](repeating: 0x55, count: 200) + [0xFF, 0xD9]
    }

    func openDevice(formats: [FakeVideoDevice.Format] = FakeVideoDevice.uvcFormats) throws -> FakeVideoDevice {
        let device = FakeVideoDevice(formats: formats) { Self.frame($0, $1) }
        try device.open()
        return device
    }

    @Test func formatNegotiationAdjustsInsteadOfRefusing() throws {
        let device = try openDevice()
        #expect(try device.formats().map(\.pixelFormat) == [.mjpeg, .yuyv])
        // A size the camera does not offer snaps to the closest one it does.
        let adjusted = try device.setFormat(PixelFormat(width: 1300, height: 700, pixelFormat: .mjpeg))
        #expect(adjusted.width == 1280 && adjusted.height == 720 && adjusted.pixelFormat == .mjpeg)
        #expect(try device.getFormat() == adjusted)
        // An unknown pixel format becomes the driver's first format, as uvcvideo does.
        let substituted = try device.setFormat(PixelFormat(width: 640, height: 480, pixelFormat: FourCC("RGB3")))
        #expect(substituted.pixelFormat == .mjpeg)
        // YUYV: stride and image size follow from the size.
        let yuyv = try device.setFormat(PixelFormat(width: 320, height: 240, pixelFormat: .yuyv))
        #expect(yuyv.bytesPerLine == 640 && yuyv.sizeImage == 640 * 240)
    }

    @Test func formatIsLockedWhileBuffersExist() throws {
        let device = try openDevice()
        #expect(try device.requestBuffers(count: 4) == 4)
        let error = #expect(throws: V4L2Error.self) { try device.setFormat(PixelFormat(width: 640, height: 480, pixelFormat: .yuyv)) }
        #expect(error?.kind == .busy)
        try device.mapBuffer(index: 0)
        // Buffers still mapped: REQBUFS 0 orphans them and succeeds, as vb2 does.
        #expect(try device.requestBuffers(count: 0) == 0)
        device.unmapBuffers()
        #expect(try device.setFormat(PixelFormat(width: 640, height: 480, pixelFormat: .yuyv)).pixelFormat == .yuyv)
    }

    @Test func buffersCycleInOrderWithRisingSequence() throws {
        let device = try openDevice()
        let count = try device.requestBuffers(count: 4)
        for index in 0..<count { try device.mapBuffer(index: index) }
        // DQBUF before STREAMON: EINVAL.
        #expect((#expect(throws: V4L2Error.self) { try device.dequeueBuffer() })?.kind == .invalid)
        // STREAMON before buffers are queued is allowed; nothing to dequeue yet.
        for index in 0..<count { try device.queueBuffer(index: index) }
        // Queuing a queued buffer is EINVAL.
        #expect((#expect(throws: V4L2Error.self) { try device.queueBuffer(index: 0) })?.kind == .invalid)
        try device.streamOn()
        var sequences: [UInt32] = []
        var indices: [Int] = []
        for _ in 0..<10 {
            #expect(try device.poll(timeout: .milliseconds(10)) == .readable)
            let buffer = try device.dequeueBuffer()
            let bytes = try device.bufferContents(index: buffer.index, count: buffer.bytesUsed)
            #expect(bytes.count == 206 && bytes[3] == UInt8(truncatingIfNeeded: buffer.sequence))
            sequences.append(buffer.sequence)
            indices.append(buffer.index)
            try device.queueBuffer(index: buffer.index)
        }
        #expect(sequences == Array(0..<10))
        #expect(indices == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
        try device.streamOff()
        #expect(!device.isStreaming)
        // STREAMOFF returned every buffer: all can be queued again.
        for index in 0..<count { try device.queueBuffer(index: index) }
    }

    @Test func emptyQueueGivesEAGAINAndPollTimesOut() throws {
        let device = try openDevice()
        _ = try device.requestBuffers(count: 2)
        try device.streamOn()
        // Streaming with no buffer queued: nothing can be filled.
        #expect(try device.poll(timeout: .milliseconds(5)).isEmpty)
        let error = #expect(throws: V4L2Error.self) { try device.dequeueBuffer() }
        #expect(error?.kind == .wouldBlock && error?.errno == EAGAIN)
        // A stalled camera: queued buffers, but no frames.
        try device.queueBuffer(index: 0)
        device.setStalled(true)
        #expect(try device.poll(timeout: .milliseconds(5)).isEmpty)
        device.setStalled(false)
        #expect(try device.poll(timeout: .milliseconds(5)) == .readable)
    }

    @Test func errorFlagAndQueueErrors() throws {
        let device = try openDevice()
        _ = try device.requestBuffers(count: 4)
        for index in 0..<4 { try device.queueBuffer(index: index) }
        try device.streamOn()
        device.injectBufferErrors(1)
        let flagged = try device.dequeueBuffer()
        #expect(flagged.hasError)
        #expect(!(try device.dequeueBuffer()).hasError)
        device.injectQueueError()
        #expect(try device.poll(timeout: .zero) == .error)
        #expect((#expect(throws: V4L2Error.self) { try device.dequeueBuffer() })?.kind == .io)
        // STREAMOFF clears the queue error.
        try device.streamOff()
        #expect(try device.poll(timeout: .zero) == .error)  // not streaming: POLLERR
    }

    @Test func unplugMakesEveryIoctlFailWithENODEV() throws {
        let device = try openDevice()
        _ = try device.requestBuffers(count: 4)
        for index in 0..<4 { try device.mapBuffer(index: index); try device.queueBuffer(index: index) }
        try device.streamOn()
        device.unplug()
        #expect(try device.poll(timeout: .zero) == [.error, .hangUp])
        let calls: [(String, () throws -> Void)] = [
            ("DQBUF", { _ = try device.dequeueBuffer() }), ("QBUF", { try device.queueBuffer(index: 0) }),
            ("STREAMOFF", { try device.streamOff() }), ("QUERYCAP", { _ = try device.queryCapabilities() }),
            ("G_FMT", { _ = try device.getFormat() }), ("REQBUFS", { _ = try device.requestBuffers(count: 0) }),
        ]
        for (name, call) in calls {
            do {
                try call()
                Issue.record("\(name) succeeded on an unplugged device")
            } catch let error as V4L2Error {
                #expect(error.kind == .deviceGone && error.errno == ENODEV, "\(name)")
            }
        }
        device.close()
        #expect(device.mappedBufferCount == 0)
        // The node is gone until the camera comes back.
        #expect((#expect(throws: V4L2Error.self) { try device.open() })?.kind == .missing)
        device.replug()
        try device.open()
        #expect(try device.queryCapabilities().isStreamingCapture)
    }

    @Test func capabilitiesTellCaptureNodesFromMetadataNodes() {
        #expect(FakeVideoDevice.captureCapabilities.isStreamingCapture)
        #expect(!FakeVideoDevice.metadataCapabilities.isStreamingCapture)
    }

    @Test func fourCCRoundTrips() {
        #expect(FourCC.mjpeg.rawValue == 0x4750_4A4D)
        #expect(FourCC.yuyv.rawValue == 0x5659_5559)
        #expect(FourCC.yuyv.description == "YUYV")
    }

    @Test func linuxDeviceNamesAMissingNode() {
        let device = LinuxVideoDevice(path: "/dev/remotair-no-such-video-node")
        let error = #expect(throws: V4L2Error.self) { try device.open() }
        #expect(error?.kind == .missing)
        #expect(!device.isOpen)
    }

    @Test func linuxDeviceRefusesANodeThatIsNotV4L2() throws {
        // /dev/null opens but is no video device: libv4l2 probes it with QUERYCAP and gets ENOTTY.
        let device = LinuxVideoDevice(path: "/dev/null")
        let error = #expect(throws: V4L2Error.self) { try device.open() }
        #expect(error?.kind == .notCaptureDevice && error?.errno == ENOTTY)
        #expect(!device.isOpen)
    }
}

@Suite("V4L2 value types")
struct VideoTypesTests {
    @Test func closestFrameSize() {
        let discrete = FrameSizes.discrete([FrameSize(width: 640, height: 480), FrameSize(width: 1280, height: 720)])
        #expect(discrete.closest(to: FrameSize(width: 1200, height: 700)) == FrameSize(width: 1280, height: 720))
        let stepwise = FrameSizes.stepwise(min: FrameSize(width: 16, height: 16), max: FrameSize(width: 1920, height: 1080),
                                           step: FrameSize(width: 16, height: 8))
        #expect(stepwise.closest(to: FrameSize(width: 1283, height: 721)) == FrameSize(width: 1280, height: 720))
        #expect(stepwise.closest(to: FrameSize(width: 4000, height: 3000)) == FrameSize(width: 1920, height: 1080))
        #expect(FrameSizes.discrete([]).closest(to: FrameSize(width: 1, height: 1)) == nil)
    }

    @Test func quantizationFollowsTheV4L2Defaults() {
        // Y'CbCr defaults to limited range, except in the JPEG colorspace (7).
        #expect(!PixelFormat(width: 2, height: 2, pixelFormat: .yuyv).isFullRangeYCbCr)
        #expect(PixelFormat(width: 2, height: 2, pixelFormat: .yuyv, colorspace: 7).isFullRangeYCbCr)
        #expect(PixelFormat(width: 2, height: 2, pixelFormat: .yuyv, colorspace: 8, quantization: 1).isFullRangeYCbCr)
        #expect(!PixelFormat(width: 2, height: 2, pixelFormat: .yuyv, colorspace: 7, quantization: 2).isFullRangeYCbCr)
    }
}

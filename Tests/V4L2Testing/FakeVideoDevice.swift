import V4L2
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A V4L2 capture node emulated at the ioctl boundary, faithful to what uvcvideo, vivid and
/// videobuf2 do (Linux 6.1), for tests (a test-support target: nothing in the product opens it):
/// - S_FMT never refuses: an unknown pixel format becomes the first offered one and the size
///   snaps to the closest offered size; EBUSY while buffers are allocated.
/// - REQBUFS grants 2...32 buffers, EBUSY while streaming; buffers still mmap'ed are orphaned, not refused
///   (count 0 included); STREAMON needs buffers (EINVAL); STREAMOFF returns every buffer.
/// - QBUF of a queued buffer or a bad index: EINVAL. DQBUF: EINVAL when not streaming, EAGAIN
///   when nothing is filled (the node is non-blocking), EIO after a fatal streaming error.
/// - Filled buffers come out in FIFO order with a rising sequence; a buffer can carry
///   V4L2_BUF_FLAG_ERROR.
/// - After `unplug()` every ioctl fails with ENODEV and poll reports POLLERR|POLLHUP; open fails
///   with ENOENT until `replug()` (the node disappears with the device).
///
/// Frames appear when the caller polls or dequeues (no background thread), so tests are
/// deterministic; `stall` makes poll wait out its timeout instead.
public final class FakeVideoDevice: VideoDeviceIO, Sendable {
    /// One format the fake driver offers.
    public struct Format: Sendable {
        public var pixelFormat: FourCC
        public var description: String
        public var sizes: [FrameSize]
        public init(pixelFormat: FourCC, description: String, sizes: [FrameSize]) {
            self.pixelFormat = pixelFormat
            self.description = description
            self.sizes = sizes
        }
    }

    /// Produces the bytes of frame `sequence` in the negotiated format.
    public typealias FrameSource = @Sendable (_ format: PixelFormat, _ sequence: UInt32) -> [UInt8]

    struct Buffer {
        var data: [UInt8]
        var queued = false
        var filled = false
        var bytesUsed = 0
        var flags: UInt32 = 0
        var sequence: UInt32 = 0
    }

    struct State {
        var capabilities: VideoCapabilities
        var formats: [Format]
        var controls: [ControlInfo]
        var controlValues: [UInt32: Int32] = [:]
        var current: PixelFormat
        var present = true
        var open = false
        var streaming = false
        var queueError = false
        var stalled = false
        var buffers: [Buffer] = []
        var mappedIndices: Set<Int> = []
        var doneOrder: [Int] = []
        /// Queued, not yet filled, in QBUF order (videobuf2's queued list).
        var queuedOrder: [Int] = []
        var sequence: UInt32 = 0
        var errorFlagsToInject = 0
        var unplugAfterFrames: Int?
        var dqbufErrnoToInject: Int32?
        var log: [String] = []
        var opens = 0
    }

    public let path: String
    private let source: FrameSource
    private let state: Mutex<State>

    public init(path: String = "/dev/fake-video0",
                capabilities: VideoCapabilities = FakeVideoDevice.captureCapabilities,
                formats: [Format] = FakeVideoDevice.uvcFormats,
                controls: [ControlInfo] = FakeVideoDevice.uvcControls,
                source: @escaping FrameSource) {
        self.path = path
        self.source = source
        let first = formats.first ?? Format(pixelFormat: .yuyv, description: "YUYV 4:2:2", sizes: [FrameSize(width: 640, height: 480)])
        let size = first.sizes.first ?? FrameSize(width: 640, height: 480)
        let initial = Self.complete(PixelFormat(width: size.width, height: size.height, pixelFormat: first.pixelFormat))
        var values: [UInt32: Int32] = [:]
        for control in controls { values[control.id] = control.defaultValue }
        state = Mutex(State(capabilities: capabilities, formats: formats, controls: controls, controlValues: values, current: initial))
    }

    // MARK: - Presets

    /// A USB camera node as uvcvideo reports it.
    public static let captureCapabilities = VideoCapabilities(
        driver: "uvcvideo", card: "Fake UVC Camera", busInfo: "usb-0000:00:14.0-1",
        capabilities: 0x84A0_0001, deviceCaps: 0x0420_0001)
    /// The metadata node uvcvideo creates next to each camera: not a capture device.
    public static let metadataCapabilities = VideoCapabilities(
        driver: "uvcvideo", card: "Fake UVC Camera", busInfo: "usb-0000:00:14.0-1",
        capabilities: 0x84A0_0001, deviceCaps: 0x0480_0000)
    /// MJPEG and YUYV at the usual UVC sizes.
    public static let uvcFormats = [
        Format(pixelFormat: .mjpeg, description: "Motion-JPEG", sizes: [
            FrameSize(width: 1920, height: 1080), FrameSize(width: 1280, height: 720), FrameSize(width: 640, height: 480)]),
        Format(pixelFormat: .yuyv, description: "YUYV 4:2:2", sizes: [
            FrameSize(width: 640, height: 480), FrameSize(width: 320, height: 240)]),
    ]
    /// A YUYV-only driver, like vivid.
    public static let yuyvOnlyFormats = [
        Format(pixelFormat: .yuyv, description: "YUYV 4:2:2", sizes: [
            FrameSize(width: 1280, height: 720), FrameSize(width: 640, height: 480), FrameSize(width: 320, height: 240)]),
    ]
    /// Controls with the names uvcvideo gives them.
    public static let uvcControls = [
        ControlInfo(id: 0x0098_0913, name: "Gain", minimum: 0, maximum: 255, defaultValue: 32),
        ControlInfo(id: 0x0098_090C, name: "White Balance, Automatic", type: 2, minimum: 0, maximum: 1, defaultValue: 1),
        ControlInfo(id: 0x0098_091A, name: "White Balance Temperature", minimum: 2800, maximum: 6500, step: 10, defaultValue: 4600),
        ControlInfo(id: 0x0098_0918, name: "Power Line Frequency", type: 3, minimum: 0, maximum: 2, defaultValue: 2),
        ControlInfo(id: 0x009A_0901, name: "Auto Exposure", type: 3, minimum: 0, maximum: 3, defaultValue: 3),
        ControlInfo(id: 0x009A_0902, name: "Exposure Time, Absolute", minimum: 3, maximum: 2047, defaultValue: 250),
    ]

    // MARK: - Fault injection and inspection (the test's hands on the hardware)

    /// The USB cable is pulled: ENODEV from now on, the node disappears.
    public func unplug() { state.withLock { $0.present = false; $0.log.append("unplug") } }
    /// The camera is back (a fresh node: nothing allocated, not streaming).
    public func replug() {
        state.withLock {
            $0.present = true
            $0.open = false
            $0.streaming = false
            $0.queueError = false
            $0.buffers = []
            $0.doneOrder = []
            $0.queuedOrder = []
            $0.mappedIndices = []
            $0.log.append("replug")
        }
    }
    /// The cable is pulled after `frames` more frames (unplug in the middle of a stream).
    public func unplug(afterFrames frames: Int) { state.withLock { $0.unplugAfterFrames = frames } }
    /// No frames arrive (a hung camera): poll waits out its timeout.
    public func setStalled(_ stalled: Bool) { state.withLock { $0.stalled = stalled } }
    /// The next `count` frames carry V4L2_BUF_FLAG_ERROR.
    public func injectBufferErrors(_ count: Int) { state.withLock { $0.errorFlagsToInject += count } }
    /// A fatal streaming error (vb2_queue_error): DQBUF fails with EIO, poll reports POLLERR,
    /// until STREAMOFF.
    public func injectQueueError() { state.withLock { $0.queueError = true } }
    /// The next DQBUF fails with this errno (e.g. EIO), once.
    public func injectDequeueError(_ code: Int32) { state.withLock { $0.dqbufErrnoToInject = code } }

    /// The ioctl names called so far, in order (`VIDIOC_STREAMON`, ...), plus `open`, `close`, `unplug`.
    public var callLog: [String] { state.withLock { $0.log } }
    public var isStreaming: Bool { state.withLock { $0.streaming } }
    public var mappedBufferCount: Int { state.withLock { $0.mappedIndices.count } }
    public var allocatedBufferCount: Int { state.withLock { $0.buffers.count } }
    public var openCount: Int { state.withLock { $0.opens } }
    public var currentFormat: PixelFormat { state.withLock { $0.current } }
    public func controlValue(id: UInt32) -> Int32? { state.withLock { $0.controlValues[id] } }

    // MARK: - VideoDeviceIO

    public var isOpen: Bool { state.withLock { $0.open } }

    public var nodeExists: Bool { state.withLock { $0.present } }

    public func open() throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            s.log.append("open")
            guard s.present else { throw V4L2Error(device: path, call: "open", errno: ENOENT) }
            s.open = true
            s.opens += 1
        }
    }

    public func close() {
        state.withLock { s in
            s.log.append("close")
            s.mappedIndices = []
            guard s.open else { return }
            s.open = false
            // Closing the last file handle releases the queue like the kernel's vb2_fop_release.
            s.streaming = false
            s.queueError = false
            s.buffers = []
            s.doneOrder = []
            s.queuedOrder = []
        }
    }

    /// Common entry of every ioctl: logs it, and fails as the kernel does on a closed or gone device.
    private func enter(_ s: inout State, _ call: String) throws(V4L2Error) {
        s.log.append(call)
        guard s.open else { throw V4L2Error(kind: .invalid, device: path, call: call, errno: EBADF, detail: "device not open") }
        guard s.present else { throw V4L2Error(device: path, call: call, errno: ENODEV) }
    }

    public func queryCapabilities() throws(V4L2Error) -> VideoCapabilities {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_QUERYCAP")
            return s.capabilities
        }
    }

    public func formatDescription(at index: Int) throws(V4L2Error) -> FormatDescription? {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_ENUM_FMT")
            guard index >= 0, index < s.formats.count else { return nil }
            let format = s.formats[index]
            return FormatDescription(pixelFormat: format.pixelFormat, description: format.description,
                                     flags: format.pixelFormat == .mjpeg ? FormatDescription.compressedFlag : 0)
        }
    }

    public func frameSizes(for format: FourCC) throws(V4L2Error) -> FrameSizes {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_ENUM_FRAMESIZES")
            guard let match = s.formats.first(where: { $0.pixelFormat == format }) else {
                throw V4L2Error(device: path, call: "VIDIOC_ENUM_FRAMESIZES", errno: EINVAL)
            }
            return .discrete(match.sizes)
        }
    }

    public func setFormat(_ requested: PixelFormat) throws(V4L2Error) -> PixelFormat {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_S_FMT")
            guard s.buffers.isEmpty else { throw V4L2Error(device: path, call: "VIDIOC_S_FMT", errno: EBUSY) }
            guard let fallback = s.formats.first else { throw V4L2Error(device: path, call: "VIDIOC_S_FMT", errno: EINVAL) }
            let format = s.formats.first { $0.pixelFormat == requested.pixelFormat } ?? fallback
            let size = FrameSizes.discrete(format.sizes).closest(to: FrameSize(width: requested.width, height: requested.height))
                ?? FrameSize(width: 640, height: 480)
            s.current = Self.complete(PixelFormat(width: size.width, height: size.height, pixelFormat: format.pixelFormat))
            return s.current
        }
    }

    public func getFormat() throws(V4L2Error) -> PixelFormat {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_G_FMT")
            return s.current
        }
    }

    /// Fills bytesperline and sizeimage the way uvcvideo does (YUYV: 2 bytes per pixel; MJPEG: the
    /// camera's worst case, taken as 2 bytes per pixel too).
    static func complete(_ format: PixelFormat) -> PixelFormat {
        var format = format
        format.bytesPerLine = format.pixelFormat == .yuyv ? format.width * 2 : 0
        format.sizeImage = format.width * format.height * 2
        return format
    }

    public func requestBuffers(count: Int) throws(V4L2Error) -> Int {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_REQBUFS")
            guard !s.streaming else { throw V4L2Error(device: path, call: "VIDIOC_REQBUFS", errno: EBUSY) }
            // vb2 (6.1, checked against vivid in the VM test) does not refuse while user space still has
            // buffers mapped: it orphans them (the mappings stay valid until munmap) and frees the queue.
            s.mappedIndices = []
            if count == 0 {
                s.buffers = []
                s.doneOrder = []
            s.queuedOrder = []
                return 0
            }
            let granted = min(max(count, 2), 32)
            s.buffers = (0..<granted).map { _ in Buffer(data: [UInt8](repeating: 0, count: s.current.sizeImage)) }
            s.doneOrder = []
            s.queuedOrder = []
            return granted
        }
    }

    public func mapBuffer(index: Int) throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_QUERYBUF")
            guard s.buffers.indices.contains(index) else { throw V4L2Error(device: path, call: "VIDIOC_QUERYBUF", errno: EINVAL) }
            s.mappedIndices.insert(index)
        }
    }

    public func unmapBuffers() {
        state.withLock { s in
            if !s.mappedIndices.isEmpty { s.log.append("munmap") }
            s.mappedIndices = []
        }
    }

    public func queueBuffer(index: Int) throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_QBUF")
            guard s.buffers.indices.contains(index), !s.buffers[index].queued, !s.buffers[index].filled else {
                throw V4L2Error(device: path, call: "VIDIOC_QBUF", errno: EINVAL)
            }
            s.buffers[index].queued = true
            s.queuedOrder.append(index)
        }
    }

    /// The "driver" side: fills the oldest queued buffer with the next frame.
    private func fillOne(_ s: inout State) {
        guard s.streaming, !s.stalled, !s.queueError, !s.queuedOrder.isEmpty else { return }
        let index = s.queuedOrder.removeFirst()
        var frame = source(s.current, s.sequence)
        if frame.count > s.buffers[index].data.count { frame = Array(frame.prefix(s.buffers[index].data.count)) }
        s.buffers[index].data.replaceSubrange(0..<frame.count, with: frame)
        s.buffers[index].bytesUsed = frame.count
        s.buffers[index].sequence = s.sequence
        s.buffers[index].flags = 0
        if s.errorFlagsToInject > 0 {
            s.errorFlagsToInject -= 1
            s.buffers[index].flags = DequeuedBuffer.errorFlag
        }
        s.buffers[index].filled = true
        s.doneOrder.append(index)
        s.sequence &+= 1
        if let remaining = s.unplugAfterFrames {
            s.unplugAfterFrames = remaining - 1
            if remaining <= 1 {
                s.unplugAfterFrames = nil
                s.present = false
                s.log.append("unplug")
            }
        }
    }

    public func dequeueBuffer() throws(V4L2Error) -> DequeuedBuffer {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_DQBUF")
            guard s.streaming else { throw V4L2Error(device: path, call: "VIDIOC_DQBUF", errno: EINVAL) }
            if let code = s.dqbufErrnoToInject {
                s.dqbufErrnoToInject = nil
                throw V4L2Error(device: path, call: "VIDIOC_DQBUF", errno: code)
            }
            guard !s.queueError else { throw V4L2Error(device: path, call: "VIDIOC_DQBUF", errno: EIO) }
            if s.doneOrder.isEmpty { fillOne(&s) }
            guard !s.doneOrder.isEmpty else { throw V4L2Error(device: path, call: "VIDIOC_DQBUF", errno: EAGAIN) }
            let index = s.doneOrder.removeFirst()
            s.buffers[index].queued = false
            s.buffers[index].filled = false
            let buffer = s.buffers[index]
            return DequeuedBuffer(index: index, bytesUsed: buffer.bytesUsed, flags: buffer.flags, sequence: buffer.sequence)
        }
    }

    public func bufferContents(index: Int, count: Int) throws(V4L2Error) -> [UInt8] {
        // Mapped memory stays readable after an unplug, as real mmap'ed pages do.
        try state.withLock { (s) throws(V4L2Error) in
            guard s.mappedIndices.contains(index), s.buffers.indices.contains(index) else {
                throw V4L2Error(kind: .invalid, device: path, call: "read buffer", detail: "buffer \(index) is not mapped")
            }
            return Array(s.buffers[index].data.prefix(max(0, count)))
        }
    }

    public func streamOn() throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_STREAMON")
            guard !s.buffers.isEmpty else { throw V4L2Error(device: path, call: "VIDIOC_STREAMON", errno: EINVAL) }
            // vb2_core_streamon refuses to start a queue in the error state until STREAMOFF.
            guard !s.queueError else { throw V4L2Error(device: path, call: "VIDIOC_STREAMON", errno: EIO) }
            s.streaming = true
        }
    }

    public func streamOff() throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_STREAMOFF")
            s.streaming = false
            s.queueError = false
            s.doneOrder = []
            s.queuedOrder = []
            for index in s.buffers.indices {
                s.buffers[index].queued = false
                s.buffers[index].filled = false
            }
        }
    }

    public func poll(timeout: Duration) throws(V4L2Error) -> PollEvents {
        let events: PollEvents? = state.withLock { s in
            s.log.append("poll")
            if !s.present { return [.error, .hangUp] }
            if !s.open { return [.error] }
            // vb2_poll: POLLERR when not streaming or after a queue error.
            if !s.streaming || s.queueError { return [.error] }
            if s.doneOrder.isEmpty { fillOne(&s) }
            return s.doneOrder.isEmpty ? nil : [.readable]
        }
        if let events { return events }
        // Nothing arrives: wait out the timeout as poll(2) would (tests keep timeouts short).
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        if nanoseconds > 0 {
            var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
        return []
    }

    public func controls() throws(V4L2Error) -> [ControlInfo] {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_QUERYCTRL")
            return s.controls
        }
    }

    public func setControl(id: UInt32, value: Int32) throws(V4L2Error) {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_S_CTRL")
            guard let control = s.controls.first(where: { $0.id == id }) else {
                throw V4L2Error(device: path, call: "VIDIOC_S_CTRL", errno: EINVAL)
            }
            // v4l2-ctrls (checked against vivid in the VM test): integer and boolean values out of range are
            // clamped to the range and rounded to the step, and S_CTRL succeeds; a menu index out of range is EINVAL.
            var stored = value
            if !(control.minimum...control.maximum).contains(value) {
                guard control.type == 1 || control.type == 2 else {
                    throw V4L2Error(device: path, call: "VIDIOC_S_CTRL", errno: EINVAL)
                }
                stored = min(max(value, control.minimum), control.maximum)
            }
            let step = max(control.step, 1)
            stored = control.minimum + (stored - control.minimum) / step * step
            s.controlValues[id] = stored
        }
    }

    public func getControl(id: UInt32) throws(V4L2Error) -> Int32 {
        try state.withLock { (s) throws(V4L2Error) in
            try enter(&s, "VIDIOC_G_CTRL")
            guard let value = s.controlValues[id] else { throw V4L2Error(device: path, call: "VIDIOC_G_CTRL", errno: EINVAL) }
            return value
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CV4L2

/// A V4L2 capture node through libv4l2 (`v4l2_fd_open`, `v4l2_ioctl`, `v4l2_mmap`): cameras whose
/// native formats we do not handle (Bayer, odd YUV orders) still offer YUYV via libv4lconvert.
public final class LinuxVideoDevice: VideoDeviceIO {
    public let path: String
    private var fd: Int32 = -1
    private var mapped: [Int: (address: UnsafeMutableRawPointer, length: Int)] = [:]

    public init(path: String) {
        self.path = path
    }

    deinit {
        close()
    }

    public var isOpen: Bool { fd >= 0 }

    public var nodeExists: Bool { access(path, F_OK) == 0 }

    public func open() throws(V4L2Error) {
        guard fd < 0 else { return }
        var raw: Int32
        repeat {
            raw = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        } while raw < 0 && errno == EINTR
        guard raw >= 0 else { throw V4L2Error(device: path, call: "open", errno: errno) }
        // v4l2_fd_open is what v4l2_open does after open(2) (v4l2_open itself is variadic and
        // cannot be called from Swift). It returns the same fd, now known to libv4l2.
        let wrapped = v4l2_fd_open(raw, 0)
        guard wrapped >= 0 else {
            let code = errno
            Glibc.close(raw)
            throw V4L2Error(device: path, call: "v4l2_fd_open", errno: code)
        }
        fd = wrapped
    }

    public func close() {
        unmapBuffers()
        if fd >= 0 {
            v4l2_close(fd)
            fd = -1
        }
    }

    private func ioctl<T>(_ request: UInt, _ name: String, _ argument: inout T) throws(V4L2Error) {
        guard fd >= 0 else { throw V4L2Error(kind: .invalid, device: path, call: name, detail: "device not open") }
        while true {
            let result = withUnsafeMutablePointer(to: &argument) { remotair_v4l2_ioctl(fd, request, $0) }
            if result != -1 { return }
            let code = errno
            if code == EINTR { continue }
            throw V4L2Error(device: path, call: name, errno: code)
        }
    }

    public func queryCapabilities() throws(V4L2Error) -> VideoCapabilities {
        var caps = v4l2_capability()
        try ioctl(remotair_VIDIOC_QUERYCAP, "VIDIOC_QUERYCAP", &caps)
        return VideoCapabilities(driver: cString(caps.driver), card: cString(caps.card), busInfo: cString(caps.bus_info),
                                 capabilities: caps.capabilities, deviceCaps: caps.device_caps)
    }

    public func formatDescription(at index: Int) throws(V4L2Error) -> FormatDescription? {
        var description = v4l2_fmtdesc()
        description.index = UInt32(index)
        description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        do {
            try ioctl(remotair_VIDIOC_ENUM_FMT, "VIDIOC_ENUM_FMT", &description)
        } catch where error.kind == .invalid {
            return nil
        }
        return FormatDescription(pixelFormat: FourCC(rawValue: description.pixelformat),
                                 description: cString(description.description), flags: description.flags)
    }

    public func frameSizes(for format: FourCC) throws(V4L2Error) -> FrameSizes {
        var sizes: [FrameSize] = []
        var index: UInt32 = 0
        while index < 256 {
            var entry = v4l2_frmsizeenum()
            entry.index = index
            entry.pixel_format = format.rawValue
            do {
                try ioctl(remotair_VIDIOC_ENUM_FRAMESIZES, "VIDIOC_ENUM_FRAMESIZES", &entry)
            } catch where error.kind == .invalid {
                break
            }
            if entry.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append(FrameSize(width: Int(entry.discrete.width), height: Int(entry.discrete.height)))
            } else {
                let step = entry.stepwise
                return .stepwise(min: FrameSize(width: Int(step.min_width), height: Int(step.min_height)),
                                 max: FrameSize(width: Int(step.max_width), height: Int(step.max_height)),
                                 step: FrameSize(width: Int(max(step.step_width, 1)), height: Int(max(step.step_height, 1))))
            }
            index += 1
        }
        return .discrete(sizes)
    }

    public func setFormat(_ requested: PixelFormat) throws(V4L2Error) -> PixelFormat {
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        format.fmt.pix.width = UInt32(requested.width)
        format.fmt.pix.height = UInt32(requested.height)
        format.fmt.pix.pixelformat = requested.pixelFormat.rawValue
        format.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try ioctl(remotair_VIDIOC_S_FMT, "VIDIOC_S_FMT", &format)
        return Self.pixelFormat(format)
    }

    public func getFormat() throws(V4L2Error) -> PixelFormat {
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        try ioctl(remotair_VIDIOC_G_FMT, "VIDIOC_G_FMT", &format)
        return Self.pixelFormat(format)
    }

    private static func pixelFormat(_ format: v4l2_format) -> PixelFormat {
        PixelFormat(width: Int(format.fmt.pix.width), height: Int(format.fmt.pix.height),
                    pixelFormat: FourCC(rawValue: format.fmt.pix.pixelformat),
                    bytesPerLine: Int(format.fmt.pix.bytesperline), sizeImage: Int(format.fmt.pix.sizeimage),
                    colorspace: format.fmt.pix.colorspace, quantization: format.fmt.pix.quantization)
    }

    public func requestBuffers(count: Int) throws(V4L2Error) -> Int {
        var request = v4l2_requestbuffers()
        request.count = UInt32(count)
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        try ioctl(remotair_VIDIOC_REQBUFS, "VIDIOC_REQBUFS", &request)
        return Int(request.count)
    }

    private func buffer(index: Int) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = UInt32(index)
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        return buffer
    }

    public func mapBuffer(index: Int) throws(V4L2Error) {
        var description = buffer(index: index)
        try ioctl(remotair_VIDIOC_QUERYBUF, "VIDIOC_QUERYBUF", &description)
        let length = Int(description.length)
        let address = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(description.m.offset))
        guard let address, address != MAP_FAILED else {
            throw V4L2Error(device: path, call: "mmap", errno: errno)
        }
        if let previous = mapped[index] { v4l2_munmap(previous.address, previous.length) }
        mapped[index] = (address, length)
    }

    public func unmapBuffers() {
        for (_, region) in mapped { v4l2_munmap(region.address, region.length) }
        mapped.removeAll()
    }

    public func queueBuffer(index: Int) throws(V4L2Error) {
        var description = buffer(index: index)
        try ioctl(remotair_VIDIOC_QBUF, "VIDIOC_QBUF", &description)
    }

    public func dequeueBuffer() throws(V4L2Error) -> DequeuedBuffer {
        var description = buffer(index: 0)
        try ioctl(remotair_VIDIOC_DQBUF, "VIDIOC_DQBUF", &description)
        return DequeuedBuffer(index: Int(description.index), bytesUsed: Int(description.bytesused),
                              flags: description.flags, sequence: description.sequence)
    }

    public func bufferContents(index: Int, count: Int) throws(V4L2Error) -> [UInt8] {
        guard let region = mapped[index] else {
            throw V4L2Error(kind: .invalid, device: path, call: "read buffer", detail: "buffer \(index) is not mapped")
        }
        // A driver reporting more bytes than the buffer holds must not make us read past the mapping.
        let length = min(max(count, 0), region.length)
        return Array(UnsafeRawBufferPointer(start: region.address, count: length))
    }

    public func streamOn() throws(V4L2Error) {
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try ioctl(remotair_VIDIOC_STREAMON, "VIDIOC_STREAMON", &type)
    }

    public func streamOff() throws(V4L2Error) {
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        try ioctl(remotair_VIDIOC_STREAMOFF, "VIDIOC_STREAMOFF", &type)
    }

    public func poll(timeout: Duration) throws(V4L2Error) -> PollEvents {
        guard fd >= 0 else { throw V4L2Error(kind: .invalid, device: path, call: "poll", detail: "device not open") }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let result = Glibc.poll(&descriptor, 1, max(milliseconds, 0))
            if result >= 0 { return PollEvents(rawValue: descriptor.revents) }
            if errno == EINTR { continue }
            throw V4L2Error(device: path, call: "poll", errno: errno)
        }
    }

    public func controls() throws(V4L2Error) -> [ControlInfo] {
        var result: [ControlInfo] = []
        var query = v4l2_queryctrl()
        query.id = 0x8000_0000  // V4L2_CTRL_FLAG_NEXT_CTRL: enumerate from the first control
        while result.count < 512 {
            do {
                try ioctl(remotair_VIDIOC_QUERYCTRL, "VIDIOC_QUERYCTRL", &query)
            } catch where error.kind == .invalid {
                break
            }
            // Class headers (type 6, V4L2_CTRL_TYPE_CTRL_CLASS) name groups, not settable controls.
            if query.type != 6 {
                result.append(ControlInfo(id: query.id, name: cString(query.name), type: query.type, minimum: query.minimum,
                                          maximum: query.maximum, step: query.step, defaultValue: query.default_value, flags: query.flags))
            }
            query.id |= 0x8000_0000
        }
        return result
    }

    public func setControl(id: UInt32, value: Int32) throws(V4L2Error) {
        var control = v4l2_control(id: id, value: value)
        try ioctl(remotair_VIDIOC_S_CTRL, "VIDIOC_S_CTRL", &control)
    }

    public func getControl(id: UInt32) throws(V4L2Error) -> Int32 {
        var control = v4l2_control(id: id, value: 0)
        try ioctl(remotair_VIDIOC_G_CTRL, "VIDIOC_G_CTRL", &control)
        return control.value
    }
}

/// A fixed-size C char array (imported as a tuple) as a Swift string.
private func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

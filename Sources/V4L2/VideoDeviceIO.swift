/// The ioctl boundary of one V4L2 capture node, one method per operation and no policy:
/// `LinuxVideoDevice` talks to the kernel through libv4l2, `FakeVideoDevice` (Tests/V4L2Testing) emulates a driver
/// for tests. Callers own the order of operations (open, QUERYCAP,
/// S_FMT, REQBUFS, QUERYBUF+mmap, QBUF, STREAMON, poll, DQBUF, STREAMOFF, munmap, close).
///
/// Not thread-safe: one owner (a camera actor) at a time.
public protocol VideoDeviceIO: AnyObject {
    /// The device node path.
    var path: String { get }
    /// True between a successful `open()` and `close()`.
    var isOpen: Bool { get }
    /// True while the device node exists (cheap: no open, so the camera is not woken up).
    var nodeExists: Bool { get }

    /// open(2) with O_RDWR | O_NONBLOCK (DQBUF never blocks; waiting is poll's job).
    func open() throws(V4L2Error)
    /// Unmaps buffers and closes; safe to call on any state, never throws (cleanup path).
    func close()

    func queryCapabilities() throws(V4L2Error) -> VideoCapabilities
    /// VIDIOC_ENUM_FMT at `index`; nil past the end (EINVAL).
    func formatDescription(at index: Int) throws(V4L2Error) -> FormatDescription?
    func frameSizes(for format: FourCC) throws(V4L2Error) -> FrameSizes
    /// VIDIOC_S_FMT: returns the format the driver actually chose (it adjusts rather than refuses).
    func setFormat(_ requested: PixelFormat) throws(V4L2Error) -> PixelFormat
    func getFormat() throws(V4L2Error) -> PixelFormat

    /// VIDIOC_REQBUFS with MMAP memory; returns the count the driver granted. 0 frees them.
    func requestBuffers(count: Int) throws(V4L2Error) -> Int
    /// VIDIOC_QUERYBUF and mmap of buffer `index`.
    func mapBuffer(index: Int) throws(V4L2Error)
    /// munmap of every mapped buffer.
    func unmapBuffers()
    func queueBuffer(index: Int) throws(V4L2Error)
    func dequeueBuffer() throws(V4L2Error) -> DequeuedBuffer
    /// A copy of the first `count` bytes of mapped buffer `index`.
    func bufferContents(index: Int, count: Int) throws(V4L2Error) -> [UInt8]
    func streamOn() throws(V4L2Error)
    func streamOff() throws(V4L2Error)
    /// poll(2) for POLLIN with a timeout; an empty set means the timeout passed.
    func poll(timeout: Duration) throws(V4L2Error) -> PollEvents

    /// Every control, enumerated with V4L2_CTRL_FLAG_NEXT_CTRL.
    func controls() throws(V4L2Error) -> [ControlInfo]
    func setControl(id: UInt32, value: Int32) throws(V4L2Error)
    func getControl(id: UInt32) throws(V4L2Error) -> Int32
}

extension VideoDeviceIO {
    /// Every format VIDIOC_ENUM_FMT lists.
    public func formats() throws(V4L2Error) -> [FormatDescription] {
        var result: [FormatDescription] = []
        var index = 0
        while let description = try formatDescription(at: index), index < 64 {
            result.append(description)
            index += 1
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Syscalls

/// A V4L2 failure with its context: device path, the ioctl or call, and errno.
public struct V4L2Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The device node does not exist (ENOENT on open): not plugged in, or wrong path.
        case missing
        /// The device went away (ENODEV, ENXIO): unplugged, or the driver was unloaded.
        case deviceGone = "device_gone"
        /// EIO: a streaming or USB transfer error; the stream must be restarted.
        case io
        /// EBUSY: another process streams from the device, or buffers are still allocated.
        case busy
        /// EACCES/EPERM on open: the service user is not in the `video` group.
        case permission
        /// EAGAIN: no filled buffer yet (non-blocking DQBUF).
        case wouldBlock = "would_block"
        /// EINVAL: a request the driver rejects (e.g. DQBUF while not streaming).
        case invalid
        /// The node cannot stream video capture (a metadata node, an output device).
        case notCaptureDevice = "not_capture_device"
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// Device path, e.g. `/dev/v4l/by-path/...-video-index0`.
    public var device: String
    /// The call, e.g. `VIDIOC_DQBUF`.
    public var call: String
    public var errno: Int32?
    public var detail: String?

    public init(kind: Kind, device: String, call: String, errno: Int32? = nil, detail: String? = nil) {
        self.kind = kind
        self.device = device
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    /// Classifies an errno from `call`.
    public init(device: String, call: String, errno code: Int32) {
        let kind: Kind
        switch code {
        case ENOENT: kind = .missing
        case ENODEV, ENXIO: kind = .deviceGone
        case EIO: kind = .io
        case EBUSY: kind = .busy
        case EACCES, EPERM: kind = .permission
        case EAGAIN: kind = .wouldBlock
        case EINVAL: kind = .invalid
        // ENOTTY: the node does not understand V4L2 ioctls at all (not a video device).
        case ENOTTY: kind = .notCaptureDevice
        default: kind = .other
        }
        self.init(kind: kind, device: device, call: call, errno: code)
    }

    public var description: String {
        var text = "\(device): \(call): \(kind.rawValue)"
        if let errno { text += " (\(Errno.name(errno)))" }
        if let detail { text += ": \(detail)" }
        return text
    }
}

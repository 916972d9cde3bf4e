import JPEG
import V4L2

/// One camera as the supervisor sees it: open, take a still, close. Implementations: `V4L2Camera`
/// (a VideoDeviceIO, real or fake) and `SimulatedCamera` (target Simulation: JPEG files replayed from a folder).
/// The supervisor serialises calls; implementations are actors so no two captures interleave.
public protocol Camera: Actor {
    nonisolated var name: String { get }
    /// Opens and configures the device. Idempotent when already open.
    func open() async throws(CameraError)
    /// Takes one still: stream on, drop warm-up frames, keep the freshest valid frame, stream off.
    func capture(_ request: StillRequest) async throws(CameraError) -> Still
    /// Releases everything (stream off, unmap, close). Never throws: it is the cleanup path.
    func close() async
    /// True between a successful `open()` and `close()`.
    var isOpen: Bool { get }
    /// A cheap presence check between captures (the device node exists), without opening it.
    var isPresent: Bool { get }
}

/// How to take one still.
public struct StillRequest: Sendable, Equatable {
    /// Frames dropped after stream start while auto-exposure settles.
    public var warmupFrames: Int
    /// Longest the capture may take.
    public var timeout: Duration
    /// Corrupt frames tolerated before the capture fails.
    public var maxCorruptFrames: Int
    /// Quality for frames we encode (YUYV).
    public var jpegQuality: Int

    public init(warmupFrames: Int = 5, timeout: Duration = .seconds(5), maxCorruptFrames: Int = 5, jpegQuality: Int = 85) {
        self.warmupFrames = warmupFrames
        self.timeout = timeout
        self.maxCorruptFrames = maxCorruptFrames
        self.jpegQuality = jpegQuality
    }
}

/// A valid still from one camera.
public struct Still: Sendable {
    public var frame: ValidFrame
    /// Frames rejected (corrupt, or flagged by the driver) before this one.
    public var corruptFrames: Int
    /// Warm-up frames dropped.
    public var droppedFrames: Int

    public init(frame: ValidFrame, corruptFrames: Int, droppedFrames: Int) {
        self.frame = frame
        self.corruptFrames = corruptFrames
        self.droppedFrames = droppedFrames
    }
}

/// A camera failure, named and with context.
public struct CameraError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The device node is missing (not plugged in, wrong path) or the replay folder is empty.
        case absent
        /// The device disappeared (ENODEV): unplugged, or the driver was unloaded.
        case deviceGone = "device_gone"
        /// EIO from the driver: USB or streaming error.
        case io
        /// No valid frame within the timeout.
        case timeout
        /// The node is not a streaming capture device (a metadata node, a codec).
        case notCaptureDevice = "not_capture_device"
        /// The camera offers neither MJPEG nor YUYV.
        case formatRefused = "format_refused"
        /// Another process holds the device (EBUSY).
        case busy
        /// The service user may not open the device.
        case permission
        /// More corrupt frames than allowed in one capture.
        case corruptFrames = "corrupt_frames"
        /// The capture was cancelled (shutdown).
        case cancelled
        /// The supervisor is waiting to reopen the camera after a failure.
        case offline
        /// No camera with that name is configured.
        case unknownCamera = "unknown_camera"
        /// Anything else.
        case other
    }

    public var kind: Kind
    public var camera: String
    public var detail: String

    public init(kind: Kind, camera: String, detail: String) {
        self.kind = kind
        self.camera = camera
        self.detail = detail
    }

    /// Maps a V4L2 failure to what it means for the camera.
    public init(_ error: V4L2Error, camera: String) {
        let kind: Kind = switch error.kind {
        case .missing: .absent
        case .deviceGone: .deviceGone
        case .io: .io
        case .busy: .busy
        case .permission: .permission
        case .notCaptureDevice: .notCaptureDevice
        case .wouldBlock, .invalid, .other: .other
        }
        self.init(kind: kind, camera: camera, detail: error.description)
    }

    /// Failures after which the device is closed and reopened (ustreamer's and motion's recovery).
    public var needsReopen: Bool {
        switch kind {
        case .deviceGone, .io, .timeout, .other, .busy, .absent: true
        case .corruptFrames, .cancelled, .offline, .unknownCamera, .notCaptureDevice, .formatRefused, .permission: false
        }
    }

    public var description: String { "\(camera): \(kind.rawValue): \(detail)" }
}

/// A V4L2 pixel format code: four ASCII characters packed little-endian (`MJPG`, `YUYV`).
public struct FourCC: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From four ASCII characters; anything else packs as spaces.
    public init(_ text: String) {
        var value: UInt32 = 0
        let bytes = Array(text.utf8.prefix(4)) + [UInt8](repeating: 0x20, count: max(0, 4 - text.utf8.count))
        for (index, byte) in bytes.enumerated() { value |= UInt32(byte) << (8 * UInt32(index)) }
        rawValue = value
    }

    /// Motion-JPEG: each buffer holds one JPEG (most UVC cameras).
    public static let mjpeg = FourCC("MJPG")
    /// Packed YUV 4:2:2, Y0 U Y1 V (uncompressed UVC cameras, vivid).
    public static let yuyv = FourCC("YUYV")

    public var description: String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (8 * $0)) }, as: UTF8.self)
    }
}

/// A frame size in pixels.
public struct FrameSize: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// VIDIOC_QUERYCAP: what the node is.
public struct VideoCapabilities: Sendable, Equatable {
    public var driver: String
    public var card: String
    public var busInfo: String
    /// Capabilities of the whole physical device.
    public var capabilities: UInt32
    /// Capabilities of this node (valid when `capabilities` has V4L2_CAP_DEVICE_CAPS).
    public var deviceCaps: UInt32

    public static let videoCapture: UInt32 = 0x0000_0001
    public static let streaming: UInt32 = 0x0400_0000
    public static let hasDeviceCaps: UInt32 = 0x8000_0000

    public init(driver: String, card: String, busInfo: String, capabilities: UInt32, deviceCaps: UInt32) {
        self.driver = driver
        self.card = card
        self.busInfo = busInfo
        self.capabilities = capabilities
        self.deviceCaps = deviceCaps
    }

    /// The capabilities that apply to this node: a UVC camera exposes a second metadata node whose
    /// device caps lack VIDEO_CAPTURE although the physical device has it.
    public var nodeCaps: UInt32 {
        capabilities & Self.hasDeviceCaps != 0 ? deviceCaps : capabilities
    }

    /// True for a node we can stream frames from (single-planar capture with streaming I/O).
    public var isStreamingCapture: Bool {
        nodeCaps & Self.videoCapture != 0 && nodeCaps & Self.streaming != 0
    }
}

/// VIDIOC_ENUM_FMT: one format the node offers.
public struct FormatDescription: Sendable, Equatable {
    public var pixelFormat: FourCC
    public var description: String
    public var flags: UInt32

    public static let compressedFlag: UInt32 = 0x0001
    /// Produced by libv4lconvert from another native format (costs CPU per frame).
    public static let emulatedFlag: UInt32 = 0x0002

    public init(pixelFormat: FourCC, description: String, flags: UInt32 = 0) {
        self.pixelFormat = pixelFormat
        self.description = description
        self.flags = flags
    }
}

/// VIDIOC_ENUM_FRAMESIZES: the sizes offered for a pixel format.
public enum FrameSizes: Sendable, Equatable {
    case discrete([FrameSize])
    case stepwise(min: FrameSize, max: FrameSize, step: FrameSize)

    /// The offered size closest to `target` (sum of width and height differences).
    public func closest(to target: FrameSize) -> FrameSize? {
        switch self {
        case .discrete(let sizes):
            return sizes.min { distance($0, target) < distance($1, target) }
        case .stepwise(let low, let high, let step):
            func snap(_ value: Int, _ low: Int, _ high: Int, _ step: Int) -> Int {
                let clamped = min(max(value, low), high)
                let stride = max(step, 1)
                return low + ((clamped - low + stride / 2) / stride) * stride
            }
            return FrameSize(width: min(snap(target.width, low.width, high.width, step.width), high.width),
                             height: min(snap(target.height, low.height, high.height, step.height), high.height))
        }
    }

    private func distance(_ a: FrameSize, _ b: FrameSize) -> Int {
        abs(a.width - b.width) + abs(a.height - b.height)
    }
}

/// The single-planar capture format (`struct v4l2_pix_format`) as set and as the driver adjusted it.
public struct PixelFormat: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixelFormat: FourCC
    /// Bytes per line; 0 for compressed formats.
    public var bytesPerLine: Int
    /// The largest a frame can be, in bytes.
    public var sizeImage: Int
    /// `enum v4l2_colorspace` (7 = JPEG).
    public var colorspace: UInt32
    /// `enum v4l2_quantization` (0 default, 1 full range, 2 limited range).
    public var quantization: UInt32

    public init(width: Int, height: Int, pixelFormat: FourCC, bytesPerLine: Int = 0, sizeImage: Int = 0,
                colorspace: UInt32 = 0, quantization: UInt32 = 0) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.bytesPerLine = bytesPerLine
        self.sizeImage = sizeImage
        self.colorspace = colorspace
        self.quantization = quantization
    }

    /// True when Y'CbCr samples use the full 0...255 range. The V4L2 rule: the default for Y'CbCr
    /// is limited range (Y 16...235), except in the JPEG colorspace.
    public var isFullRangeYCbCr: Bool {
        quantization == 1 || (quantization == 0 && colorspace == 7)
    }
}

/// A buffer returned by VIDIOC_DQBUF.
public struct DequeuedBuffer: Sendable, Equatable {
    public var index: Int
    /// Bytes of frame data in the buffer.
    public var bytesUsed: Int
    public var flags: UInt32
    /// The driver's frame counter; gaps mean dropped frames.
    public var sequence: UInt32

    /// V4L2_BUF_FLAG_ERROR: the data may be corrupt (USB packet loss, a driver streaming error).
    public static let errorFlag: UInt32 = 0x0000_0040

    public init(index: Int, bytesUsed: Int, flags: UInt32, sequence: UInt32) {
        self.index = index
        self.bytesUsed = bytesUsed
        self.flags = flags
        self.sequence = sequence
    }

    public var hasError: Bool { flags & Self.errorFlag != 0 }
}

/// What poll(2) reported for the device.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// POLLIN: a filled buffer can be dequeued.
    public static let readable = PollEvents(rawValue: 0x001)
    /// POLLERR: not streaming, queue error, or device gone.
    public static let error = PollEvents(rawValue: 0x008)
    /// POLLHUP: the device was unplugged.
    public static let hangUp = PollEvents(rawValue: 0x010)
}

/// VIDIOC_QUERYCTRL: one control the device offers.
public struct ControlInfo: Sendable, Equatable {
    public var id: UInt32
    public var name: String
    /// V4L2 control type (1 integer, 2 boolean, 3 menu, ...).
    public var type: UInt32
    public var minimum: Int32
    public var maximum: Int32
    public var step: Int32
    public var defaultValue: Int32
    public var flags: UInt32

    /// V4L2_CTRL_FLAG_DISABLED, V4L2_CTRL_FLAG_READ_ONLY, V4L2_CTRL_FLAG_INACTIVE.
    public static let disabledFlag: UInt32 = 0x0001
    public static let readOnlyFlag: UInt32 = 0x0004

    public init(id: UInt32, name: String, type: UInt32 = 1, minimum: Int32, maximum: Int32, step: Int32 = 1, defaultValue: Int32, flags: UInt32 = 0) {
        self.id = id
        self.name = name
        self.type = type
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.defaultValue = defaultValue
        self.flags = flags
    }
}

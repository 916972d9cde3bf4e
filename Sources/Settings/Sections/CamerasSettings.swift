import Geometry

/// The `cameras` section of the configuration: the capture devices and how to take a still.
public struct CamerasSettings: Sendable, Equatable {
    /// The cameras, in configuration order (typically `upstream` and `downstream`).
    public var devices: [CameraSettings] = []
    /// Longest wait between reopen attempts of a failed camera (the backoff doubles up to this).
    public var reopenBackoffMax: Duration = .seconds(30)

    public init(devices: [CameraSettings] = [], reopenBackoffMax: Duration = .seconds(30)) {
        self.devices = devices
        self.reopenBackoffMax = reopenBackoffMax
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        reopenBackoffMax = try map.duration("reopen_backoff_max", default: reopenBackoffMax, in: .seconds(1)...(.seconds(3600)))
        var names: Set<String> = []
        for node in try map.optional("devices")?.list() ?? [] {
            let camera = try CameraSettings(node.mapping())
            guard names.insert(camera.name).inserted else {
                throw node.error(.invalid("camera name '\(camera.name)' is used twice"))
            }
            devices.append(camera)
        }
    }
}

/// One camera.
public struct CameraSettings: Sendable, Equatable {
    public enum FormatPreference: String, Sendable, Equatable {
        /// Motion-JPEG at the configured size, falling back to YUYV (encoded to JPEG by us).
        case mjpeg
        /// YUYV only (cameras whose MJPEG is broken, or raw-only drivers).
        case yuyv
    }

    /// Name used in logs, events, object keys and `remotaird capture --camera`: letters, digits, '-', '_'.
    public var name: String
    /// Device node. Prefer /dev/v4l/by-path/... (stable per USB port) or /dev/v4l/by-id/... (stable per
    /// camera): /dev/videoN numbers change with enumeration order and after a replug.
    public var device: String
    public var width: Int = 1280
    public var height: Int = 720
    public var format: FormatPreference = .mjpeg
    /// Frames dropped after stream start while auto-exposure settles.
    public var warmupFrames: Int = 5
    /// Longest a capture may take, stream start to valid frame.
    public var timeout: Duration = .seconds(5)
    /// Quality for YUYV frames encoded to JPEG (MJPEG frames are kept as the camera sent them).
    public var jpegQuality: Int = 85
    /// Corrupt frames tolerated in one capture before it fails.
    public var maxCorruptFrames: Int = 5
    /// V4L2 controls to set after opening, by our short name (exposure, gain, white_balance,
    /// power_line_frequency) or by the driver's own control name ("Brightness"); values as the
    /// driver takes them. Applied in key order.
    public var controls: [CameraControlSetting] = []
    /// The LED that lights the duct for this camera, if any.
    public var illumination: GPIOLineSetting?
    /// The part of the frame the classifier looks at (normalised 0...1 coordinates).
    public var regionOfInterest: NormalizedRect = .full
    /// A camera offline this long raises `camera_offline`.
    public var offlineAlarmAfter: Duration = .seconds(600)
    /// Simulated board only: the scene folder under `simulation.frames_dir` this camera replays.
    public var replayScene: String = "clean"

    public init(name: String, device: String) {
        self.name = name
        self.device = device
    }

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        let nameNode = try map.required("name")
        name = try nameNode.string()
        guard !name.isEmpty, name.count <= 32,
              name.unicodeScalars.allSatisfy({ ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_" }) else {
            throw nameNode.error(.invalid("'\(name)' must be 1 to 32 letters, digits, '-' or '_'"))
        }
        device = try map.required("device").string()
        width = try map.int("width", default: width, in: 16...7680)
        height = try map.int("height", default: height, in: 16...4320)
        format = FormatPreference(rawValue: try map.oneOf("format", ["mjpeg", "yuyv"], default: "mjpeg")) ?? .mjpeg
        warmupFrames = try map.int("warmup_frames", default: warmupFrames, in: 0...300)
        timeout = try map.duration("timeout", default: timeout, in: .milliseconds(100)...(.seconds(120)))
        jpegQuality = try map.int("jpeg_quality", default: jpegQuality, in: 1...100)
        maxCorruptFrames = try map.int("max_corrupt_frames", default: maxCorruptFrames, in: 0...100)
        offlineAlarmAfter = try map.duration("offline_alarm_after", default: offlineAlarmAfter, in: .seconds(1)...(.seconds(7 * 86400)))
        replayScene = try map.string("replay_scene", default: replayScene)
        if let node = map.optional("controls") {
            let controlMap = try node.mapping()
            for key in controlMap.keys {
                guard let valueNode = controlMap.optional(key) else { continue }
                controls.append(try CameraControlSetting(name: key, node: valueNode))
            }
            try controlMap.finish()
        }
        if let node = map.optional("illumination") {
            illumination = try GPIOLineSetting(node)
        }
        if let node = map.optional("region_of_interest") {
            let roi = try node.mapping()
            regionOfInterest = NormalizedRect(
                x: try roi.double("x", default: 0, in: 0...1), y: try roi.double("y", default: 0, in: 0...1),
                width: try roi.double("width", default: 1, in: 0.01...1), height: try roi.double("height", default: 1, in: 0.01...1))
            try roi.finish()
            guard regionOfInterest.x + regionOfInterest.width <= 1.000_001, regionOfInterest.y + regionOfInterest.height <= 1.000_001 else {
                throw node.error(.invalid("the region must lie inside the frame (x + width <= 1, y + height <= 1)"))
            }
        }
        try map.finish()
    }
}

/// A camera control and the value to set.
public struct CameraControlSetting: Sendable, Equatable {
    /// Our short name or the driver's control name, as written in the file.
    public var name: String
    public var value: Int

    public init(name: String, value: Int) {
        self.name = name
        self.value = value
    }

    init(name: String, node: ConfigNode) throws(ConfigurationError) {
        self.name = name
        if name == "power_line_frequency", let word = try? node.string(), Int(word) == nil {
            // The V4L2 menu: 0 disabled, 1 50 Hz, 2 60 Hz, 3 auto. Flicker from mains lighting.
            switch word.lowercased() {
            case "disabled", "off": value = 0
            case "50hz", "50 hz": value = 1
            case "60hz", "60 hz": value = 2
            case "auto": value = 3
            default: throw node.error(.invalid("'\(word)' is not one of disabled, 50hz, 60hz, auto (or the menu index)"))
            }
        } else {
            value = try node.int(in: -1_000_000...1_000_000)
        }
    }
}

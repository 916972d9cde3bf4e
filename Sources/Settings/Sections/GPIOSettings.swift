/// The `gpio` section: the status LEDs, the manual-capture button and illumination timing.
/// Camera illumination lines are set per camera (`cameras.devices[].illumination`).
public struct GPIOSettings: Sendable, Equatable {
    /// Default chip for every line: `gpiochip0`, `/dev/gpiochip0`, or the chip label. Nil: no GPIO.
    public var chip: String?
    /// The status LED (patterns: ok heartbeat, alarm fast blink, fault double blink).
    public var statusLED: GPIOLineSetting?
    /// An optional second LED lit steadily on a fault (a red LED beside a green status LED).
    public var faultLED: GPIOLineSetting?
    /// The optional manual-capture push button.
    public var button: GPIOLineSetting?
    /// Presses closer together than this are contact bounce.
    public var buttonDebounce: Duration = .milliseconds(50)
    /// Time between switching the illumination on and starting the stream (LED driver rise time,
    /// and auto-exposure sees the lit scene from the first frame).
    public var illuminationSettle: Duration = .milliseconds(200)

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        chip = try map.optional("chip")?.string()
        statusLED = try map.optional("status_led").map { node throws(ConfigurationError) in try GPIOLineSetting(node) }
        faultLED = try map.optional("fault_led").map { node throws(ConfigurationError) in try GPIOLineSetting(node) }
        button = try map.optional("button").map { node throws(ConfigurationError) in try GPIOLineSetting(node) }
        buttonDebounce = try map.duration("button_debounce", default: buttonDebounce, in: .milliseconds(1)...(.seconds(2)))
        illuminationSettle = try map.duration("illumination_settle", default: illuminationSettle, in: .zero...(.seconds(10)))
    }
}

/// One GPIO line: written as a bare offset (`17`), a bare line name (`LED_STATUS`), or a mapping
/// `{line: 17, chip: gpiochip1, active_low: true}`.
public struct GPIOLineSetting: Sendable, Equatable {
    public enum Line: Sendable, Equatable {
        case offset(Int)
        case name(String)
    }

    public var line: Line
    /// Overrides `gpio.chip` for this line.
    public var chip: String?
    /// The line is on when driven low (LED to 3.3 V through a resistor, button to ground).
    public var activeLow: Bool = false

    public init(line: Line, chip: String? = nil, activeLow: Bool = false) {
        self.line = line
        self.chip = chip
        self.activeLow = activeLow
    }

    init(_ node: ConfigNode) throws(ConfigurationError) {
        if let map = try? node.mapping(), !map.keys.isEmpty {
            line = try Self.line(map.required("line"))
            chip = try map.optional("chip")?.string()
            activeLow = try map.bool("active_low", default: false)
            try map.finish()
        } else {
            line = try Self.line(node)
        }
    }

    private static func line(_ node: ConfigNode) throws(ConfigurationError) -> Line {
        if let offset = try? node.int(in: 0...1023) { return .offset(offset) }
        let name = try node.string()
        guard !name.isEmpty else { throw node.error(.invalid("empty line name")) }
        if Int(name) != nil { throw node.error(.outOfRange("line offsets are 0...1023")) }
        return .name(name)
    }
}

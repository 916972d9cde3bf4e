import GPIO
import Logging
import ServiceLifecycle

/// What the status LED shows.
public enum StatusPattern: String, Sendable, Equatable {
    /// Short blink every 2 s: alive, nothing wrong.
    case ok
    /// Fast blink: an alarm is active.
    case alarm
    /// Double blink: a device fault (camera offline, sensor missing).
    case fault
    /// Dark (shutdown).
    case off

    /// One period of the pattern as (on, duration) steps.
    public var steps: [(on: Bool, duration: Duration)] {
        switch self {
        case .ok: [(true, .milliseconds(100)), (false, .milliseconds(1900))]
        case .alarm: [(true, .milliseconds(250)), (false, .milliseconds(250))]
        case .fault: [(true, .milliseconds(100)), (false, .milliseconds(150)), (true, .milliseconds(100)), (false, .milliseconds(650))]
        case .off: [(false, .milliseconds(500))]
        }
    }
}

/// Decides the status pattern from what the parts report: a fault (any named fault source) wins
/// over an alarm, an alarm over ok.
public actor StatusIndicator {
    private var faults: Set<String> = []
    private var alarm = false

    public init() {}

    /// Marks `source` (e.g. `camera:upstream`) as faulty or fine.
    public func setFault(_ source: String, _ faulty: Bool) {
        if faulty { faults.insert(source) } else { faults.remove(source) }
    }

    /// Set by the main job while an alarm is active.
    public func setAlarm(_ active: Bool) { alarm = active }

    public var pattern: StatusPattern { !faults.isEmpty ? .fault : alarm ? .alarm : .ok }
    public var faultSources: [String] { faults.sorted() }
}

/// Drives the status LED (and an optional steady fault LED) from the indicator's pattern.
/// The LEDs are switched off when the service stops, whatever the reason.
public struct StatusLEDService: Service {
    let indicator: StatusIndicator
    let statusLine: any GPIOLine
    let faultLine: (any GPIOLine)?
    let logger: Logger

    public init(indicator: StatusIndicator, statusLine: any GPIOLine, faultLine: (any GPIOLine)? = nil, logger: Logger = Logger(label: "vision")) {
        self.indicator = indicator
        self.statusLine = statusLine
        self.faultLine = faultLine
        self.logger = logger
    }

    public func run() async throws {
        defer {
            try? statusLine.setValue(false)
            try? faultLine?.setValue(false)
        }
        try? await cancelWhenGracefulShutdown {
            var failedOnce = false
            while !Task.isCancelled {
                let pattern = await indicator.pattern
                for step in pattern.steps {
                    do {
                        try statusLine.setValue(step.on)
                        try faultLine?.setValue(pattern == .fault)
                        failedOnce = false
                    } catch {
                        if !failedOnce { logger.warning("status LED failed", metadata: ["error": .string("\(error)")]) }
                        failedOnce = true
                    }
                    try await Task.sleep(for: step.duration)
                }
            }
        }
    }
}

import Foundation

/// Severity of a rule's state.
public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    case normal, warning, alarm

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Thresholds for one measured quantity: warn and alarm levels that must be exceeded for `sustain`
/// before they count, and a lower clear level the value must stay under for `sustain` to clear.
/// For quantities where low is bad, `direction` is `.below` and every comparison flips.
public struct LevelRuleSettings: Sendable, Equatable, Codable {
    public enum Direction: String, Sendable, Codable { case above, below }

    public var warn: Double?
    public var alarm: Double
    public var clear: Double
    public var sustain: TimeInterval
    /// How long the value must stay clear before the rule clears; `sustain` when nil.
    public var clearAfter: TimeInterval?
    public var direction: Direction

    public init(warn: Double?, alarm: Double, clear: Double, sustain: TimeInterval, clearAfter: TimeInterval? = nil, direction: Direction = .above) {
        self.warn = warn
        self.alarm = alarm
        self.clear = clear
        self.sustain = sustain
        self.clearAfter = clearAfter
        self.direction = direction
    }

    /// The severity the value alone indicates, before any sustain time.
    func instantaneous(_ value: Double) -> Severity {
        func exceeds(_ level: Double) -> Bool { direction == .above ? value >= level : value <= level }
        if exceeds(alarm) { return .alarm }
        if let warn, exceeds(warn) { return .warning }
        return .normal
    }

    func isClear(_ value: Double) -> Bool { direction == .above ? value <= clear : value >= clear }
}

/// A rule over a measured value with sustain times on the way up and hysteresis on the way down.
/// Used for air quality (PM2.5, CO2, humidity for mould, filter pressure drop) and, with values 0/1,
/// for device conditions held over time (a camera offline, a sensor faulted).
public struct LevelRuleMachine: Sendable, Equatable, Codable {
    public let settings: LevelRuleSettings
    public private(set) var severity: Severity = .normal
    /// Since when the value has continuously indicated a severity above the current one.
    public private(set) var exceedSince: Date?
    /// Since when the value has continuously been at or under the clear level while raised.
    public private(set) var clearSince: Date?
    public private(set) var lastValue: Double?
    public private(set) var peakValue: Double?

    public init(settings: LevelRuleSettings) {
        self.settings = settings
    }

    /// Feeds one value; returns the new severity when it changed.
    public mutating func observe(_ value: Double, at now: Date) -> Severity? {
        lastValue = value
        let indicated = settings.instantaneous(value)
        if severity != .normal {
            peakValue = settings.direction == .above ? max(peakValue ?? value, value) : min(peakValue ?? value, value)
        }

        // Escalation: a higher severity must hold for the sustain time. Between warn and alarm the clock
        // keeps running from the first exceedance, and what is raised is the severity indicated now.
        if indicated > severity {
            clearSince = nil
            let since = exceedSince ?? now
            exceedSince = since
            guard now.timeIntervalSince(since) >= settings.sustain else { return nil }
            severity = indicated
            exceedSince = nil
            peakValue = value
            return severity
        }
        exceedSince = nil

        // De-escalation: only below the clear level, held for the sustain time.
        guard severity != .normal else { return nil }
        guard settings.isClear(value) else {
            clearSince = nil
            return nil
        }
        clearSince = clearSince ?? now
        if let since = clearSince, now.timeIntervalSince(since) >= settings.clearAfter ?? settings.sustain {
            severity = .normal
            clearSince = nil
            peakValue = nil
            return .normal
        }
        return nil
    }
}

import Foundation

/// Numbers, ages and sizes the way a technician reads them.
public enum Formatting {
    /// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; `-` when unknown.
    public static func ago(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        if seconds < 1 { return "just now" }
        return "\(span(seconds)) ago"
    }

    /// `12 s`, `5 min`, `3 h 20 min`, `2 d 4 h`.
    public static func span(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        switch total {
        case ..<60: return "\(total) s"
        case ..<3600: return "\(total / 60) min"
        case ..<86400:
            let minutes = (total % 3600) / 60
            return minutes == 0 ? "\(total / 3600) h" : "\(total / 3600) h \(minutes) min"
        default:
            let hours = (total % 86400) / 3600
            return hours == 0 ? "\(total / 86400) d" : "\(total / 86400) d \(hours) h"
        }
    }

    /// Whole numbers without a fraction, others with up to `decimals` places.
    public static func number(_ value: Double?, decimals: Int = 1) -> String {
        guard let value, value.isFinite else { return "-" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int(value)) }
        return String(format: "%.\(decimals)f", value)
    }

    /// `512 B`, `4.0 KiB`, `1.2 MiB`.
    public static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }

    /// Milliseconds: `412 ms`, `1.21 s`.
    public static func milliseconds(_ value: Int) -> String {
        value < 1000 ? "\(value) ms" : String(format: "%.2f s", Double(value) / 1000)
    }
}

import Foundation

/// The one home of the JSON text the commands print by hand (their lines keep a fixed key order and number
/// format that scripts and the README show, which JSONEncoder does not promise).
public enum JSONText {
    /// A JSON string literal with the escapes JSON requires (quote, backslash, control characters).
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += "\\u00" + String(c.value >> 4, radix: 16) + String(c.value & 15, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number for a probability or a time: rounded to `decimals`, never NaN or infinite (those become null).
    public static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        let scale = pow(10.0, Double(decimals))
        return "\((value * scale).rounded() / scale)"
    }

    /// `value` with exactly `decimals` digits after the point, rounded half away from zero (what
    /// `String(format: "%.Nf")` prints for the values shown here, without Foundation's formatter).
    public static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<max(decimals, 0) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard value.isFinite, scaled < 1e15 else { return "\(value)" }
        let units = Int(scaled), divisor = Int(scale)
        var fraction = String(units % divisor)
        fraction = String(repeating: "0", count: max(decimals - fraction.count, 0)) + fraction
        let sign = value < 0 && units != 0 ? "-" : ""
        return decimals > 0 ? "\(sign)\(units / divisor).\(fraction)" : "\(sign)\(units)"
    }
}

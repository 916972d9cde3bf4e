import Foundation

/// `REMOTAIRD_MEMORY_REPORT=1`: this process's peak and current memory from /proc/self/status, e.g.
/// `memory: VmHWM=21504 VmRSS=20100 RssAnon=6000 RssFile=14100 (kB)` (scripts/bench/bench-classifier prints it next
/// to the Python pipeline's).
public enum MemoryReport {
    /// The fields reported, in /proc's order.
    static let fields: Set<Substring> = ["VmHWM", "VmRSS", "RssAnon", "RssFile"]

    /// The report line for the text of a /proc/<pid>/status file; lines it does not understand are skipped.
    public static func line(procStatus text: String) -> String {
        var found: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, parts[0].hasSuffix(":"), fields.contains(parts[0].dropLast()) else { continue }
            found.append("\(parts[0].dropLast())=\(parts[1])")
        }
        return "memory: \(found.joined(separator: " ")) (kB)"
    }

    /// This process's report, or nil when /proc is not readable.
    public static func current() -> String? {
        // fopen and a fixed buffer rather than Foundation's file reading: the report measures this process,
        // so reading it should not add to its peak.
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        var text = ""
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return line(procStatus: text)
    }
}

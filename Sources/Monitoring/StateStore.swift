import Foundation
import Logging

/// Where the main job keeps what must survive a restart (raised alarms, evidence, schedules), as bytes.
/// The daemon supplies a file written atomically (temp, fsync, rename, fsync directory), so a power cut
/// leaves either the old or the new state, never a torn one; tests keep it in memory.
public protocol StateStore: Sendable {
    /// Where the state lives, for log lines (a path).
    var location: String { get }
    /// The saved bytes, or nil when nothing was saved yet.
    func load() throws -> Data?
    /// Replaces the saved bytes durably.
    func save(_ data: Data) throws
    /// Keeps unreadable state for inspection, out of the way of the next save; returns where it went.
    func setAside() throws -> String
}

extension StateStore {
    /// The saved value, or nil when there is none. Unreadable state is set aside (kept for inspection)
    /// and logged; the daemon starts fresh rather than crash-looping on it.
    func restore<T: Decodable>(_ type: T.Type, logger: Logger) -> T? {
        let data: Data
        do {
            guard let saved = try load() else { return nil }
            data = saved
        } catch {
            logger.error("state file unreadable; starting fresh", metadata: ["file": .string(location), "error": .string("\(error)")])
            return nil
        }
        do {
            return try JSONDecoder.remotair.decode(T.self, from: data)
        } catch {
            let aside = (try? setAside()) ?? "-"
            logger.error("state file unreadable; moved aside and starting fresh", metadata: [
                "file": .string(location), "moved_to": .string(aside), "error": .string("\(error)"),
            ])
            return nil
        }
    }
}

extension JSONEncoder {
    /// Stable output: sorted keys, dates as milliseconds since 1970.
    static var remotair: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }
}

extension JSONDecoder {
    static var remotair: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }
}

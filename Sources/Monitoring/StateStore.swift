import Foundation
import Logging
import Syscalls

/// A JSON file in the state directory written atomically (temp, fsync, rename, fsync directory), so a
/// power cut leaves either the old or the new state, never a torn one.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The saved value, or nil when there is none. An unreadable file is moved aside (kept for inspection)
    /// and logged; the daemon starts fresh rather than crash-looping on it.
    public func load<T: Decodable>(_ type: T.Type, logger: Logger) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder.remotair.decode(T.self, from: data)
        } catch {
            let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
            try? FileManager.default.moveItem(atPath: path, toPath: aside)
            logger.error("state file unreadable; moved aside and starting fresh", metadata: [
                "file": .string(path), "moved_to": .string(aside), "error": .string("\(error)"),
            ])
            return nil
        }
    }

    public func save<T: Encodable>(_ value: T) throws {
        let data = try JSONEncoder.remotair.encode(value)
        let temporary = path + ".tmp"
        let fd = try FileIO.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o640)
        do {
            try FileIO.writeAll(fd, data, target: temporary)
            try FileIO.fsync(fd, target: temporary)
            FileIO.close(fd)
        } catch {
            FileIO.close(fd)
            throw error
        }
        try syscall("rename", on: path) { rename(temporary, path) }
        try FileIO.fsyncDirectory((path as NSString).deletingLastPathComponent)
    }
}

extension JSONEncoder {
    /// Stable output: sorted keys, ISO 8601 dates.
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

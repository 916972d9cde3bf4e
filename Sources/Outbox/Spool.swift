import Foundation
import Syscalls

#if canImport(Glibc)
import Glibc
#endif

/// The blob folder: one file per blob, named `{item_id}.{kind}.{priority}.{json|jpg}` so that a lost database
/// can be rebuilt from the folder alone. Writes are temp -> fsync -> rename; the caller fsyncs the folder once per item.
struct Spool: Sendable {
    let directory: String
    static let temporarySuffix = ".tmp"

    /// What a spool file name says about its blob.
    struct Name: Hashable, Sendable {
        var id: ItemID
        var kind: ItemKind
        var priority: PriorityClass
        var part: Blob.Part

        var fileName: String { "\(id.rawValue).\(kind.rawValue).\(priority.rawValue).\(part.rawValue)" }

        init(id: ItemID, kind: ItemKind, priority: PriorityClass, part: Blob.Part) {
            self.id = id
            self.kind = kind
            self.priority = priority
            self.part = part
        }

        init?(fileName: String) {
            let fields = fileName.split(separator: ".", omittingEmptySubsequences: false)
            guard fields.count == 4, let id = ItemID(fields[0]), let kind = ItemKind(rawValue: String(fields[1])),
                  let priority = PriorityClass(rawValue: String(fields[2])), let part = Blob.Part(rawValue: String(fields[3]))
            else { return nil }
            self.init(id: id, kind: kind, priority: priority, part: part)
        }
    }

    func path(_ name: Name) -> String { directory + "/" + name.fileName }

    /// Writes a blob durably under its final name (temp, fsync, rename); the folder still needs `syncDirectory()`.
    func write(_ bytes: Data, as name: Name) throws(SyscallError) {
        try FileIO.writeAtomically(bytes, to: path(name), mode: 0o600, temporarySuffix: Self.temporarySuffix, syncDirectory: false)
    }

    /// fsync of the spool folder, making renames and unlinks in it durable.
    func syncDirectory() throws(SyscallError) {
        try FileIO.fsyncDirectory(directory)
    }

    func read(_ name: Name) -> Data? {
        FileManager.default.contents(atPath: path(name))
    }

    /// Size of a blob file, or nil when it is missing.
    func size(_ name: Name) -> Int64? {
        var info = stat()
        guard stat(path(name), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    func remove(_ name: Name) {
        _ = unlink(path(name))
    }

    /// Every entry of the folder, split into blobs we can name, temp files, and anything else.
    func scan() throws -> (blobs: [Name], temporary: [String], unknown: [String]) {
        var blobs: [Name] = []
        var temporary: [String] = []
        var unknown: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            if file.hasSuffix(Self.temporarySuffix) {
                temporary.append(file)
            } else if let name = Name(fileName: file) {
                blobs.append(name)
            } else {
                unknown.append(file)
            }
        }
        return (blobs, temporary, unknown)
    }
}

import Foundation
import Syscalls

#if canImport(Glibc)
import Glibc
#endif

/// The models a board keeps under `{state_dir}/models/`:
///
///     state.json            which version is current and which previous (written atomically: temp, fsync, rename)
///     versions/{version}/   complete, verified bundles: the current one and the previous one, nothing else
///     staging/{version}/    a bundle being downloaded or checked; emptied at every start
///
/// Activation writes the new bundle under staging, fsyncs it, renames the folder into versions/, and only then
/// replaces state.json. A crash or power cut before that rename of state.json leaves the old model current (the
/// new folder is an orphan, pruned later); after it, the new one; never a mix, because a model is only ever read
/// from the folder state.json names, and a folder is complete before its name can appear there.
public struct ModelStore: Sendable {
    /// One activated model, as state.json records it.
    public struct Record: Sendable, Equatable, Codable {
        public var version: String
        /// SHA-256 of the model file.
        public var sha256: String
        public var activatedAt: Date
        public var channel: String

        public init(version: String, sha256: String, activatedAt: Date, channel: String) {
            self.version = version
            self.sha256 = sha256
            self.activatedAt = activatedAt
            self.channel = channel
        }

        enum CodingKeys: String, CodingKey {
            case version, sha256, channel
            case activatedAt = "activated_at"
        }
    }

    public struct State: Sendable, Equatable, Codable {
        public var current: Record?
        public var previous: Record?
        /// Versions an operator rolled back from: the poller does not activate them again.
        public var rolledBack: [String] = []

        public init(current: Record? = nil, previous: Record? = nil, rolledBack: [String] = []) {
            self.current = current
            self.previous = previous
            self.rolledBack = rolledBack
        }

        enum CodingKeys: String, CodingKey {
            case current, previous
            case rolledBack = "rolled_back"
        }
    }

    public let root: String

    public init(stateDirectory: String) {
        root = (stateDirectory as NSString).appendingPathComponent("models")
    }

    var statePath: String { root + "/state.json" }
    var versionsPath: String { root + "/versions" }
    var stagingPath: String { root + "/staging" }

    /// The folder of an activated version (whether or not it is still kept).
    public func folder(of version: String) -> String { versionsPath + "/" + version }

    /// state.json, or an empty state when there is none yet. A state.json that does not parse is an error (it
    /// is only ever replaced whole, so this means someone edited it): the caller reports it and uses the calibration model.
    public func state() throws(ModelStoreError) -> State {
        guard FileManager.default.fileExists(atPath: statePath) else { return State() }
        guard let data = FileManager.default.contents(atPath: statePath) else { throw ModelStoreError(path: statePath, message: "unreadable") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(State.self, from: data)
        } catch {
            throw ModelStoreError(path: statePath, message: "does not parse: \(error)")
        }
    }

    func write(_ state: State) throws(ModelStoreError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw ModelStoreError(path: statePath, message: "\(error)") }
        do {
            try FileIO.writeAtomically(Array(data), to: statePath, mode: 0o644)
        } catch {
            throw ModelStoreError(path: statePath, message: error.description)
        }
    }

    /// Empties staging (a download a crash interrupted), creates the folders, and prunes the versions state.json
    /// does not name: a crash after an activation's state.json write but before its prune leaves three.
    public func prepare() throws(ModelStoreError) {
        try? FileManager.default.removeItem(atPath: stagingPath)
        for path in [root, versionsPath, stagingPath] {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ModelStoreError(path: path, message: "cannot create: \(error.localizedDescription)")
            }
        }
        // A state.json that does not parse prunes nothing: the caller reports it, and the folders stay for a person.
        if let state = try? state() { prune(keeping: state) }
    }

    /// A fresh staging folder for `version`.
    public func stagingFolder(for version: String) throws(ModelStoreError) -> String {
        let path = stagingPath + "/" + version
        try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError(path: path, message: "cannot create: \(error.localizedDescription)")
        }
        return path
    }

    /// Writes a bundle's files into `folder` (names already checked by the manifest parser), each fsynced, then
    /// the folders themselves.
    public func write(files: [String: Data], into folder: String) throws(ModelStoreError) {
        var folders: Set<String> = [folder]
        for (name, data) in files {
            let path = folder + "/" + name
            let parent = (path as NSString).deletingLastPathComponent
            if !folders.contains(parent) {
                do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
                    throw ModelStoreError(path: parent, message: "cannot create: \(error.localizedDescription)")
                }
                folders.insert(parent)
            }
            do {
                try FileIO.writeAtomically(Array(data), to: path, mode: 0o644, syncDirectory: false)
            } catch {
                throw ModelStoreError(path: path, message: error.description)
            }
        }
        for path in folders.sorted(by: { $0.count > $1.count }) {
            do { try FileIO.fsyncDirectory(path) } catch { throw ModelStoreError(path: path, message: error.description) }
        }
    }

    /// Makes the staged `version` current and the current one previous; prunes every other version.
    /// `crashPoint` lets the crash tests stop the process between the steps.
    @discardableResult
    public func activate(staged folder: String, record: Record, crashPoint: (@Sendable (String) -> Void)? = nil) throws(ModelStoreError) -> State {
        var state = try state()
        let target = self.folder(of: record.version)
        // A folder of this version from an activation that crashed before state.json, or an older copy: replace it
        // (state.json cannot name it as current, or we would not be activating it).
        guard state.current?.version != record.version else { throw ModelStoreError(path: target, message: "version \(record.version) is already current") }
        try? FileManager.default.removeItem(atPath: target)
        do {
            try syscall("rename", on: target) { rename(folder, target) }
            try FileIO.fsyncDirectory(versionsPath)
            try FileIO.fsyncDirectory(stagingPath)
        } catch {
            throw ModelStoreError(path: target, message: error.description)
        }
        crashPoint?("renamed")
        let old = state.current
        state.current = record
        state.previous = old?.version == record.version ? state.previous : old
        state.rolledBack.removeAll { $0 == record.version }
        try write(state)
        crashPoint?("state-written")
        prune(keeping: state)
        return state
    }

    /// Swaps current and previous; the version rolled back from is remembered so the poller leaves it alone.
    public func rollback(at date: Date) throws(ModelStoreError) -> State {
        var state = try state()
        guard let previous = state.previous else { throw ModelStoreError(path: statePath, message: "there is no previous model to roll back to") }
        guard FileManager.default.fileExists(atPath: folder(of: previous.version)) else {
            throw ModelStoreError(path: folder(of: previous.version), message: "the previous model's folder is gone")
        }
        let current = state.current
        state.current = previous
        state.current?.activatedAt = date
        state.previous = current
        if let current, !state.rolledBack.contains(current.version) { state.rolledBack.append(current.version) }
        try write(state)
        return state
    }

    /// Puts back a state read before an activation whose swap failed (the new folder stays until pruned).
    public func restore(_ state: State) throws(ModelStoreError) {
        try write(state)
    }

    /// Drops the current record (it failed to load) in favour of the previous one; see `Startup`.
    public func fallBack(at date: Date) throws(ModelStoreError) -> State {
        try rollback(at: date)
    }

    /// Removes versions other than current and previous. Failures only cost disk, so they are ignored.
    func prune(keeping state: State) {
        let keep = Set([state.current?.version, state.previous?.version].compactMap { $0 })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: versionsPath)) ?? []
        for entry in entries where !keep.contains(entry) {
            try? FileManager.default.removeItem(atPath: versionsPath + "/" + entry)
        }
    }

    /// Bytes kept for models (versions and staging), for the "extra disk" figure and `remotairctl model`.
    public func diskUsage() -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return 0 }
        var total = 0
        for case let name as String in enumerator {
            let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }
}

/// A model store file or folder that cannot be used, naming it.
public struct ModelStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

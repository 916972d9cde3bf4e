import Foundation
import ModelUpdates
import Synchronization
import Testing

/// The on-disk store: activation keeps exactly current and previous, every intermediate step leaves one complete
/// model current, rollback swaps and remembers.
@Suite struct ModelStoreTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "model-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func record(_ version: String) -> ModelStore.Record {
        ModelStore.Record(version: version, sha256: String(repeating: "a", count: 64), activatedAt: Date(timeIntervalSince1970: 1_800_000_000), channel: "canary")
    }

    /// Stages and activates a bundle of two files whose bytes name the version.
    @discardableResult
    func activate(_ store: ModelStore, _ version: String, crashPoint: (@Sendable (String) -> Void)? = nil) throws -> ModelStore.State {
        let staged = try store.stagingFolder(for: version)
        try store.write(files: ["model.onnx": Data(version.utf8), "references/00-a.jpg": Data("jpg".utf8)], into: staged)
        return try store.activate(staged: staged, record: record(version), crashPoint: crashPoint)
    }

    @Test func activationKeepsCurrentAndPreviousAndPrunesTheRest() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        #expect(try store.state() == ModelStore.State())
        try activate(store, "1.0")
        try activate(store, "1.1")
        let state = try activate(store, "1.2")
        #expect(state.current?.version == "1.2" && state.previous?.version == "1.1")
        #expect(try store.state() == state)
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory + "/models/versions").sorted()
        #expect(kept == ["1.1", "1.2"])
        #expect(FileManager.default.contents(atPath: store.folder(of: "1.2") + "/model.onnx") == Data("1.2".utf8))
        let stateFile = try #require(FileManager.default.contents(atPath: directory + "/models/state.json"))
        #expect(store.diskUsage() == 2 * (3 + 3) + stateFile.count)
    }

    @Test func atEveryStepOfAnActivationOneCompleteModelIsCurrent() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        try activate(store, "1.0")
        let seen = Mutex<[String: String]>([:])
        try activate(store, "2.0") { point in
            // What a daemon starting now would load: the folder state.json names, complete.
            let state = try? ModelStore(stateDirectory: directory).state()
            let current = state?.current?.version ?? "none"
            let bytes = FileManager.default.contents(atPath: ModelStore(stateDirectory: directory).folder(of: current) + "/model.onnx")
            seen.withLock { $0[point] = bytes.map { String(decoding: $0, as: UTF8.self) } ?? "missing" }
        }
        #expect(seen.withLock { $0 } == ["renamed": "1.0", "state-written": "2.0"])
    }

    @Test func aStagingFolderLeftByACrashIsEmptiedAtStartAndAnOrphanedVersionIsReplaced() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        try activate(store, "1.0")
        // A download interrupted, and a version renamed into place whose state.json write never happened.
        _ = try store.stagingFolder(for: "3.0")
        try FileManager.default.createDirectory(atPath: store.folder(of: "2.0"), withIntermediateDirectories: true)
        try Data("torn".utf8).write(to: URL(fileURLWithPath: store.folder(of: "2.0") + "/model.onnx"))
        try store.prepare()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/models/staging").isEmpty)
        #expect(try store.state().current?.version == "1.0")
        try activate(store, "2.0")
        #expect(FileManager.default.contents(atPath: store.folder(of: "2.0") + "/model.onnx") == Data("2.0".utf8))
    }

    @Test func aVersionLeftByACrashBeforeThePruneIsRemovedAtStart() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        for version in ["1.0", "2.0", "3.0"] { try activate(store, version) }
        // What kill -9 between the state.json write that made 3.0 current and the prune of 1.0 leaves (45-model-updates
        // does it to the real daemon): three versions on disk, state.json naming 3.0 and 2.0.
        try FileManager.default.createDirectory(atPath: store.folder(of: "1.0"), withIntermediateDirectories: true)
        try Data("1.0".utf8).write(to: URL(fileURLWithPath: store.folder(of: "1.0") + "/model.onnx"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/models/versions").sorted() == ["1.0", "2.0", "3.0"])
        try store.prepare()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/models/versions").sorted() == ["2.0", "3.0"])
        #expect(try store.state().current?.version == "3.0")
    }

    @Test func rollbackSwapsAndRemembersTheVersionItLeft() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        #expect(throws: ModelStoreError.self) { try store.rollback(at: Date()) }
        try activate(store, "1.0")
        try activate(store, "1.1")
        let state = try store.rollback(at: Date(timeIntervalSince1970: 1_900_000_000))
        #expect(state.current?.version == "1.0" && state.previous?.version == "1.1")
        #expect(state.current?.activatedAt == Date(timeIntervalSince1970: 1_900_000_000))
        #expect(state.rolledBack == ["1.1"])
        #expect(try store.state() == state)
    }

    @Test func aStateFileThatDoesNotParseIsAnErrorNamingIt() throws {
        let store = ModelStore(stateDirectory: directory)
        try store.prepare()
        try Data("{".utf8).write(to: URL(fileURLWithPath: directory + "/models/state.json"))
        let error = #expect(throws: ModelStoreError.self) { try store.state() }
        #expect(error?.path.hasSuffix("models/state.json") == true)
    }
}

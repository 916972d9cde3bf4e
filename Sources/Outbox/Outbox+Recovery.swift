import Digests
import Foundation
import GRDB
import Logging
import Settings
import Synchronization
import Syscalls
import Timestamps

extension Outbox {
    /// Database file name inside the outbox folder.
    public static let databaseName = "outbox.sqlite"

    /// Opens (or creates) the outbox in `directory` and recovers it. Call before READY=1.
    ///
    /// Recovery: temp files of interrupted writes are removed; blobs without a row are removed; rows whose blobs are
    /// missing or have the wrong size are marked lost and counted; the database must pass `integrity_check`. A database
    /// that fails to open or check is moved aside into `corrupt/` (kept for inspection), a fresh one is created, and the
    /// spool is rescanned so that every intact blob is queued again.
    ///
    /// `progress` is called regularly while recovery works through a large outbox (the daemon extends systemd's
    /// start timeout with it).
    public static func open(
        directory: String, settings: OutboxSettings, logger: Logger,
        freeSpace: @escaping @Sendable (String) -> Int64? = { FreeSpace.available(at: $0) },
        clock: @escaping @Sendable () -> Date = { Date() },
        progress: @escaping @Sendable () -> Void = {}
    ) throws(OutboxError) -> (Outbox, RecoveryReport) {
        let spool = Spool(directory: directory + "/spool")
        do {
            try FileManager.default.createDirectory(atPath: spool.directory, withIntermediateDirectories: true)
        } catch {
            throw OutboxError(.io, "cannot create \(spool.directory): \(error.localizedDescription)")
        }
        var report = RecoveryReport()
        let scan: (blobs: [Spool.Name], temporary: [String], unknown: [String])
        do {
            scan = try spool.scan()
        } catch {
            throw OutboxError(.io, "cannot list \(spool.directory): \(error.localizedDescription)")
        }
        for file in scan.temporary { _ = unlink(spool.directory + "/" + file) }
        report.temporaryFilesRemoved = scan.temporary.count
        report.unknownFiles = scan.unknown.count

        let path = directory + "/" + databaseName
        let existed = FileManager.default.fileExists(atPath: path)
        var database: DatabaseQueue
        var rebuild = !existed && !scan.blobs.isEmpty
        progress()
        do {
            database = try openDatabase(path: path)
        } catch {
            let aside = try moveAside(directory: directory, reason: "\(error)", clock: clock)
            report.databaseMovedAside = aside
            report.databaseProblem = "\(error)"
            logger.critical("outbox database unusable, moved aside; rebuilding from the spool", metadata: ["problem": "\(error)", "moved_to": "\(aside)"])
            do {
                database = try openDatabase(path: path)
            } catch {
                throw OutboxError(.io, "cannot create a fresh outbox database at \(path): \(error)")
            }
            rebuild = true
        }
        let outbox = Outbox(directory: directory, database: database, settings: settings, logger: logger, freeSpace: freeSpace, clock: clock)
        do {
            progress()
            if rebuild {
                try outbox.rebuild(from: scan.blobs, report: &report, progress: progress)
            } else {
                try outbox.reconcile(with: scan.blobs, report: &report, progress: progress)
            }
            if scan.temporary.count + report.orphanBlobsRemoved > 0 { try spool.syncDirectory() }
            report.itemsQueued = try database.read { try Self.usage($0).items }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw OutboxError(.io, "recovery: \(error)")
        }
        outbox.runtime.withLock { $0.recovery = report }
        try outbox.expire()
        let metadata: Logger.Metadata = [
            "queued": "\(report.itemsQueued)", "temp_removed": "\(report.temporaryFilesRemoved)", "orphans_removed": "\(report.orphanBlobsRemoved)",
            "lost": "\(report.itemsMarkedLost)", "rebuilt": "\(report.itemsRebuilt)",
        ]
        if report.isClean {
            logger.info("outbox recovered", metadata: metadata)
        } else {
            logger.warning("outbox recovered with repairs", metadata: metadata)
        }
        return (outbox, report)
    }

    /// One writer connection, WAL, synchronous=FULL (each commit durable), migrated, and passing integrity_check.
    static func openDatabase(path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "outbox"
        // WAL by hand, not `configuration.journalMode = .wal`: GRDB's WAL set-up runs after prepareDatabase and
        // lowers synchronous to NORMAL, under which a commit can roll back after power loss. We promise FULL.
        configuration.prepareDatabase { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw DatabaseError(resultCode: .SQLITE_ERROR, message: "could not switch to WAL (journal_mode is \(mode ?? "unknown"))")
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let database = try DatabaseQueue(path: path, configuration: configuration)
        do {
            let check = try database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
            guard check == ["ok"] else {
                throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "integrity_check: " + check.prefix(5).joined(separator: "; "))
            }
            try OutboxSchema.migrator.migrate(database)
        } catch {
            try? database.close()
            throw error
        }
        return database
    }

    /// Moves the database and its WAL and shm files into `corrupt/<time>/`; returns that folder.
    static func moveAside(directory: String, reason: String, clock: () -> Date) throws(OutboxError) -> String {
        let stamp = UTCTime(clock()).extended().filter { $0 != ":" }
        var aside = directory + "/corrupt/" + stamp
        var suffix = 1
        while FileManager.default.fileExists(atPath: aside) {
            suffix += 1
            aside = directory + "/corrupt/" + stamp + "-\(suffix)"
        }
        do {
            try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
            for name in [databaseName, databaseName + "-wal", databaseName + "-shm"] where FileManager.default.fileExists(atPath: directory + "/" + name) {
                try FileManager.default.moveItem(atPath: directory + "/" + name, toPath: aside + "/" + name)
            }
            try (reason + "\n").write(toFile: aside + "/reason.txt", atomically: true, encoding: .utf8)
            try FileIO.fsyncDirectory(directory)
        } catch {
            throw OutboxError(.io, "cannot move the damaged database aside into \(aside): \(error)")
        }
        return aside
    }

    /// Normal start-up: rows and spool files must agree.
    func reconcile(with blobs: [Spool.Name], report: inout RecoveryReport, progress: () -> Void = {}) throws {
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, priority, state, jsonSize, jpegSize FROM item")
        }
        var files = Set(blobs)
        for (index, row) in rows.enumerated() {
            if index % 256 == 255 { progress() }
            guard let id = ItemID(row["id"] as String? ?? ""), let kind = ItemKind(rawValue: row["kind"] as String? ?? ""),
                  let priority = PriorityClass(rawValue: row["priority"] as String? ?? "") else { continue }
            let json = Spool.Name(id: id, kind: kind, priority: priority, part: .json)
            let jpg = Spool.Name(id: id, kind: kind, priority: priority, part: .jpg)
            files.remove(json)
            files.remove(jpg)
            guard row["state"] as String? == ItemState.queued.rawValue else { continue }
            var problem: String?
            let expected: [(Spool.Name, Int64?)] = kind.hasJPEG ? [(jpg, row["jpegSize"]), (json, row["jsonSize"])] : [(json, row["jsonSize"])]
            for (name, size) in expected {
                guard let actual = spool.size(name) else { problem = "\(name.part.rawValue) blob missing"; break }
                if actual != size { problem = "\(name.part.rawValue) blob is \(actual) bytes, expected \(size ?? -1) (torn write?)"; break }
            }
            if let problem {
                try markLost(id, kind: kind, priority: priority, reason: problem)
                report.itemsMarkedLost += 1
            }
        }
        for orphan in files {
            spool.remove(orphan)
            report.orphanBlobsRemoved += 1
        }
        if !files.isEmpty {
            logger.notice("removed blobs without a row (interrupted enqueue or upload)", metadata: ["count": "\(files.count)"])
        }
    }

    /// Fresh database: every complete, well-formed set of blobs becomes a queued item again; the rest is counted as lost.
    func rebuild(from blobs: [Spool.Name], report: inout RecoveryReport, progress: () -> Void = {}) throws {
        let groups = Dictionary(grouping: blobs) { $0.id }
        let now = clock()
        for (index, (id, names)) in groups.sorted(by: { $0.key < $1.key }).enumerated() {
            if index % 64 == 63 { progress() }
            guard let first = names.first else { continue }
            let kind = first.kind
            let priority = first.priority
            let consistent = names.allSatisfy { $0.kind == kind && $0.priority == priority }
            let json = Spool.Name(id: id, kind: kind, priority: priority, part: .json)
            let jpg = Spool.Name(id: id, kind: kind, priority: priority, part: .jpg)
            let jsonData = spool.read(json)
            let jpegData = kind.hasJPEG ? spool.read(jpg) : nil
            let valid = consistent
                && jsonData.map(Self.looksLikeJSON) == true
                && (!kind.hasJPEG || jpegData.map(Self.looksLikeJPEG) == true)
                && (kind.hasJPEG || !names.contains(jpg))
            guard valid, let jsonData else {
                names.forEach(spool.remove)
                try bump(["lost"])
                report.itemsMarkedLost += 1
                logger.error("spool blob unusable while rebuilding, counted lost", metadata: ["item": "\(id)"])
                continue
            }
            let bytes = Int64(jsonData.count + (jpegData?.count ?? 0))
            try database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO item (id, kind, priority, rank, createdAt, enqueuedAt, state, bytes,
                                          jsonSize, jsonSHA256, jsonMD5, jpegSize, jpegSHA256, jpegMD5)
                        VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id.rawValue, kind.rawValue, priority.rawValue, ItemRank.of(kind: kind, priority: priority),
                        // The capture time is in the body, which we do not parse; the id carries the enqueue time.
                        Self.millis(id.timestamp), Self.millis(now), bytes,
                        jsonData.count, Digest.sha256(jsonData), Digest.md5(jsonData),
                        jpegData?.count, jpegData.map(Digest.sha256), jpegData.map(Digest.md5),
                    ])
            }
            report.itemsRebuilt += 1
        }
        // The MQTT queue (mqtt_pending) died with the old database: `mirrorAlarmsToMQTT(true)` rebuilds what it can.
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", arguments: [Self.mqttResyncKey])
        }
    }

    static func looksLikeJSON(_ data: Data) -> Bool {
        (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
    }

    /// SOI at the start and EOI at the end, as ustreamer checks frames: catches truncated and garbage-tailed files.
    static func looksLikeJPEG(_ data: Data) -> Bool {
        data.count >= 4 && data.prefix(2) == Data([0xFF, 0xD8]) && data.suffix(2) == Data([0xFF, 0xD9])
    }
}

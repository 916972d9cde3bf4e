// Child process for scripts/testing/crash-outbox and scripts/bench/bench-outbox.
//
//   outbox-torture run   --dir D --endpoint URL --bucket B [--prefix P] [--device ID] [--snapshot-bytes N] [--pause-ms N]
//       Opens (and recovers) the outbox in D/outbox, uploads with the real worker, and enqueues a rotating mix of
//       alarms, snapshots and samples until killed. After each enqueue returns (the item is acknowledged) it appends
//       "id json_key jpg_key|-" to D/acked.log. Bodies verify themselves: the JSON names its id and the JPEG's SHA-256,
//       and the JPEG bytes are derived from the id, so a checker can tell whether any uploaded object was damaged.
//   outbox-torture check --dir D
//       Opens (and recovers) the outbox and prints one JSON line: recovery report, integrity_check, queued ids, lost.
//   outbox-torture bench --dir D --items N --kind alarm|snapshot [--snapshot-bytes N]
//       Enqueues N items as fast as it can and prints items per second.
//   outbox-torture drain --dir D --endpoint URL --bucket B [--prefix P] [--concurrency N]
//       Uploads everything queued with the real worker and prints seconds and bytes (bench-outbox's throughput run).
// Credentials for an S3 endpoint come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
import Crypto
import Digests
import Foundation
import Logging
import ObjectLayout
import Outbox
import Settings
import Uplink

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let name = iterator.next() {
            if name.hasPrefix("--"), let value = iterator.next() { values[String(name.dropFirst(2))] = value }
        }
    }

    func string(_ name: String, _ fallback: String? = nil) -> String {
        guard let value = values[name] ?? fallback else {
            FileHandle.standardError.write(Data("outbox-torture: --\(name) is required\n".utf8))
            exit(2)
        }
        return value
    }

    func int(_ name: String, _ fallback: Int) -> Int { values[name].flatMap { Int($0) } ?? fallback }
}

/// JPEG-framed bytes derived from the item id: SHA-256 chained over the id, between SOI and EOI markers.
func derivedJPEG(id: ItemID, size: Int) -> Data {
    var out = Data([0xFF, 0xD8])
    out.reserveCapacity(size)
    var block = Data(SHA256.hash(data: Data(id.rawValue.utf8)))
    while out.count < size - 2 {
        out.append(block.prefix(size - 2 - out.count))
        block = Data(SHA256.hash(data: block))
    }
    out.append(contentsOf: [0xFF, 0xD9])
    return out
}

func makeItem(n: Int, snapshotBytes: Int) -> NewItem {
    let kinds: [(ItemKind, PriorityClass)] = [(.alarm, .periodic), (.snapshot, .periodic), (.alarm, .periodic), (.snapshot, .alarm), (.sample, .periodic), (.status, .periodic)]
    let (kind, priority) = kinds[n % kinds.count]
    let now = Date()
    let id = ItemID.make(at: now)
    var jpeg: Data?
    var body: [String: Any] = ["id": id.rawValue, "kind": kind.rawValue, "n": n]
    if kind.hasJPEG {
        let data = derivedJPEG(id: id, size: snapshotBytes)
        jpeg = data
        body["jpeg_sha256"] = Digest.sha256(data)
        body["jpeg_size"] = data.count
    }
    let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
    return NewItem(id: id, kind: kind, createdAt: now, json: json, jpeg: jpeg, priority: priority)
}

func openOutbox(_ directory: String, logger: Logger) -> (Outbox, RecoveryReport) {
    var settings = OutboxSettings()
    settings.maxBytes = 1 << 40
    settings.maxItems = 10_000_000
    settings.freeSpaceFloor = 0
    do {
        return try Outbox.open(directory: directory + "/outbox", settings: settings, logger: logger)
    } catch {
        FileHandle.standardError.write(Data("outbox-torture: \(error)\n".utf8))
        exit(1)
    }
}

func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

@main
struct OutboxTorture {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: outbox-torture run|check|bench --dir D ...\n".utf8))
            exit(2)
        }
        let options = Options(arguments.dropFirst(2))
        var logger = Logger(label: "torture")
        logger.logLevel = .error
        let directory = options.string("dir")
        switch arguments[1] {
        case "check":
            let (outbox, report) = openOutbox(directory, logger: logger)
            let integrity = (try? outbox.integrityCheck()) ?? "failed"
            let queued = ((try? outbox.queuedIDs()) ?? []).map(\.rawValue)
            let status = outbox.status()
            outbox.close()
            let reportData = (try? JSONEncoder().encode(report)).flatMap { try? JSONSerialization.jsonObject(with: $0) } ?? [:]
            printJSON(["integrity": integrity, "queued": queued, "lost": status.lost, "uploaded": status.uploaded, "recovery": reportData])
        case "run":
            await run(options: options, directory: directory, logger: logger)
        case "bench":
            bench(options: options, directory: directory, logger: logger)
        case "drain":
            await drain(options: options, directory: directory, logger: logger)
        default:
            FileHandle.standardError.write(Data("outbox-torture: unknown command \(arguments[1])\n".utf8))
            exit(2)
        }
    }

    static func run(options: Options, directory: String, logger: Logger) async {
        let (outbox, _) = openOutbox(directory, logger: logger)
        var uplink = UplinkSettings()
        let endpoint = options.string("endpoint")
        uplink.endpoint = URL(string: endpoint)
        uplink.bucket = options.string("bucket", "remotair-test")
        uplink.prefix = options.string("prefix", "torture")
        uplink.concurrency = options.int("concurrency", 4)
        let device = options.string("device", "torture-board")
        let store: any ObjectStore
        if endpoint.hasPrefix("file://") {
            store = FileEndpoint(root: String(endpoint.dropFirst("file://".count)))
        } else {
            guard let url = URL(string: endpoint), let credentials = try? CredentialsLoader.load(file: nil, environment: ProcessInfo.processInfo.environment) else {
                FileHandle.standardError.write(Data("outbox-torture: bad endpoint or no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY\n".utf8))
                exit(2)
            }
            store = S3Client(endpoint: url, bucket: uplink.bucket, region: "us-east-1", addressing: .path, credentials: credentials)
        }
        let worker = UploadWorker(outbox: outbox, store: store, settings: uplink, deviceID: device, logger: logger,
                                  backoff: Backoff(base: .milliseconds(100), cap: .seconds(2)))
        let uploads = Task { try? await worker.run() }
        let snapshotBytes = options.int("snapshot-bytes", 50_000)
        let pause = options.int("pause-ms", 20)
        let log = directory + "/acked.log"
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            FileHandle.standardError.write(Data("outbox-torture: cannot open \(log)\n".utf8))
            exit(1)
        }
        FileHandle.standardOutput.write(Data("READY\n".utf8))
        var n = 0
        let stop = options.int("items", Int.max)
        while n < stop {
            n += 1
            let item = makeItem(n: n, snapshotBytes: snapshotBytes)
            do {
                let id = try outbox.enqueue(item)
                let json = ObjectKey.make(prefix: uplink.prefix, deviceID: device, kind: item.kind.rawValue, createdAt: item.createdAt, id: id.rawValue, fileExtension: Blob.Part.json.rawValue)
                let jpg = item.kind.hasJPEG ? ObjectKey.make(prefix: uplink.prefix, deviceID: device, kind: item.kind.rawValue, createdAt: item.createdAt, id: id.rawValue, fileExtension: Blob.Part.jpg.rawValue) : "-"
                let line = Array("\(id.rawValue) \(json) \(jpg)\n".utf8)
                _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                fsync(fd)
            } catch {
                FileHandle.standardError.write(Data("outbox-torture: enqueue: \(error)\n".utf8))
            }
            if pause > 0 { try? await Task.sleep(for: .milliseconds(pause)) }
        }
        // --items given: wait until drained, then stop cleanly.
        while outbox.status().queuedItems > 0 { try? await Task.sleep(for: .milliseconds(50)) }
        uploads.cancel()
        await uploads.value
        outbox.close()
    }

    static func makeStore(_ endpoint: String, uplink: UplinkSettings) -> any ObjectStore {
        if endpoint.hasPrefix("file://") { return FileEndpoint(root: String(endpoint.dropFirst("file://".count))) }
        guard let url = URL(string: endpoint), let credentials = try? CredentialsLoader.load(file: nil, environment: ProcessInfo.processInfo.environment) else {
            FileHandle.standardError.write(Data("outbox-torture: bad endpoint or no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY\n".utf8))
            exit(2)
        }
        return S3Client(endpoint: url, bucket: uplink.bucket, region: "us-east-1", addressing: .path, credentials: credentials)
    }

    static func drain(options: Options, directory: String, logger: Logger) async {
        let (outbox, _) = openOutbox(directory, logger: logger)
        var uplink = UplinkSettings()
        let endpoint = options.string("endpoint")
        uplink.endpoint = URL(string: endpoint)
        uplink.bucket = options.string("bucket", "remotair-test")
        uplink.prefix = options.string("prefix", "bench")
        uplink.concurrency = options.int("concurrency", 4)
        let bytes = outbox.status().queuedBytes
        let worker = UploadWorker(outbox: outbox, store: makeStore(endpoint, uplink: uplink), settings: uplink, deviceID: "bench-board", logger: logger)
        let start = ContinuousClock.now
        let uploads = Task { try? await worker.run() }
        while outbox.status().queuedItems > 0 { try? await Task.sleep(for: .milliseconds(20)) }
        let elapsed = ContinuousClock.now - start
        uploads.cancel()
        await uploads.value
        let status = outbox.status()
        outbox.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        printJSON(["seconds": seconds, "bytes": bytes, "uploaded": status.uploaded, "errors": status.lastError ?? ""])
    }

    static func bench(options: Options, directory: String, logger: Logger) {
        let (outbox, _) = openOutbox(directory, logger: logger)
        let count = options.int("items", 1000)
        let kind = options.string("kind", "alarm")
        let snapshotBytes = options.int("snapshot-bytes", 200_000)
        let jpeg = derivedJPEG(id: ItemID.make(), size: snapshotBytes)
        let start = ContinuousClock.now
        for n in 0..<count {
            let item = kind == "alarm"
                ? NewItem(kind: .alarm, createdAt: Date(), json: Data(#"{"alarm":\#(n),"rule":"pm25_high","value":87.5}"#.utf8))
                : NewItem(kind: .snapshot, createdAt: Date(), json: Data(#"{"snapshot":\#(n)}"#.utf8), jpeg: jpeg)
            do { try outbox.enqueue(item) } catch {
                FileHandle.standardError.write(Data("outbox-torture: \(error)\n".utf8))
                exit(1)
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        outbox.close()
        printJSON(["items": count, "kind": kind, "seconds": seconds, "per_second": Double(count) / seconds])
    }
}

import Digests
import Foundation
import Logging
import Outbox
import Settings
import Testing
import Uplink

/// Against moto_server with authentication on (scripts/test.d/40-outbox-s3). Serialized: the outage test takes the
/// relay in front of the server down.
@Suite(.serialized, .enabled(if: S3TestEnvironment.requested, "set by scripts/test.d/40-outbox-s3"))
struct UplinkS3Tests {
    func settings(_ env: S3TestEnvironment, prefix: String) -> UplinkSettings {
        var uplink = UplinkSettings()
        uplink.endpoint = env.endpoint
        uplink.bucket = env.bucket
        uplink.prefix = prefix
        uplink.addressing = .path
        uplink.concurrency = 3
        return uplink
    }

    func client(_ env: S3TestEnvironment, secret: String? = nil, key: String? = nil) -> S3Client {
        S3Client(endpoint: env.endpoint, bucket: env.bucket, region: "us-east-1", addressing: .path,
                 credentials: AWSCredentials(accessKeyID: key ?? env.accessKey, secretAccessKey: secret ?? env.secretKey))
    }

    static func uniquePrefix() -> String { "t-" + UUID().uuidString.prefix(8).lowercased() }

    @Test func putReturnsTheBodyMD5AndBotoReadsTheSameBytes() async throws {
        let env = try S3TestEnvironment.require()
        let s3 = client(env)
        let body = UplinkFixture.jpeg(7, size: 300_000)
        let blob = Blob(part: .jpg, bytes: body, sha256: TestDigest.sha256Hex(body), md5: TestDigest.md5Hex(body))
        let key = Self.uniquePrefix() + "/odd name ç+(1).jpg"
        let etag = try await s3.put(key: key, blob: blob, contentType: "image/jpeg")
        await s3.shutdown()
        #expect(etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == blob.md5)
        let stored = try #require(try env.listObjects()[key])
        #expect(stored.size == body.count)
        #expect(stored.sha256 == blob.sha256)
        #expect(stored.etag == blob.md5)
    }

    @Test func aBodyThatDiffersFromItsDigestsIsNeverAcknowledged() async throws {
        let env = try S3TestEnvironment.require()
        let s3 = client(env)
        let body = Data("{\"alarm\":1}".utf8)
        // Digests of other bytes, as if the body had been damaged after enqueue. Servers that check Content-MD5 or
        // x-amz-checksum-sha256 refuse it (AWS: BadDigest); moto stores it, and then its ETag (the MD5 of what it got)
        // differs from ours, which is what the worker compares before removing an item.
        let other = Data("{\"alarm\":2}".utf8)
        let blob = Blob(part: .json, bytes: body, sha256: TestDigest.sha256Hex(other), md5: TestDigest.md5Hex(other))
        do {
            let etag = try await s3.put(key: Self.uniquePrefix() + "/x.json", blob: blob, contentType: "application/json")
            #expect(etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) != blob.md5)
        } catch {
            #expect(error.disposition == .item)
        }
        await s3.shutdown()
    }

    @Test func workerDrainsEverythingAndObjectsMatchWhatWasEnqueued() async throws {
        let env = try S3TestEnvironment.require()
        let fixture = try UplinkFixture()
        defer { fixture.cleanUp() }
        let uplink = settings(env, prefix: Self.uniquePrefix())
        let expected = try fixture.enqueueMix(alarms: 5, snapshots: 4, samples: 3, uplink: uplink)
        let worker = UploadWorker(outbox: fixture.outbox, store: client(env), settings: uplink, deviceID: fixture.deviceID, logger: Logger(label: "uplink"))
        let task = UplinkFixture.start(worker)
        #expect(await UplinkFixture.eventually { fixture.outbox.status().queuedItems == 0 })
        task.cancel()
        await task.value
        let stored = try env.listObjects().filter { $0.key.hasPrefix(uplink.prefix + "/") }
        #expect(Set(stored.keys) == Set(expected.keys))
        for (key, bytes) in expected {
            #expect(stored[key]?.sha256 == TestDigest.sha256Hex(bytes), "\(key)")
            #expect(stored[key]?.etag == TestDigest.md5Hex(bytes), "\(key)")
        }
        #expect(fixture.outbox.status().uploaded == 12)
    }

    @Test(arguments: [("wrong secret", "SignatureDoesNotMatch"), ("wrong key id", "InvalidAccessKeyId")])
    func badCredentialsPauseTheUplinkAndAFixedKeyDrainsIt(_ mistake: String, _ code: String) async throws {
        let env = try S3TestEnvironment.require()
        let fixture = try UplinkFixture()
        defer { fixture.cleanUp() }
        let uplink = settings(env, prefix: Self.uniquePrefix())
        let expected = try fixture.enqueueMix(alarms: 3, snapshots: 1, samples: 0, uplink: uplink)
        let bad = mistake == "wrong secret" ? client(env, secret: String(env.secretKey.reversed())) : client(env, key: "AKIAIOSFODNN7WRONG00")
        let paused = UploadWorker(outbox: fixture.outbox, store: bad, settings: uplink, deviceID: fixture.deviceID, logger: Logger(label: "uplink"))
        let task = UplinkFixture.start(paused)
        #expect(await UplinkFixture.eventually { fixture.outbox.status().pausedReason != nil })
        // Paused, not burning retries: nothing more is attempted, everything is still queued.
        try await Task.sleep(for: .milliseconds(500))
        let status = fixture.outbox.status()
        #expect(status.pausedReason?.hasPrefix(code) == true, "\(status.pausedReason ?? "nil")")
        #expect(status.queuedItems == 4)
        #expect(status.inFlight == 0)
        #expect(paused.pausedReason?.hasPrefix(code) == true)
        task.cancel()
        await task.value

        // The key is fixed (a reload builds a new client); flush resumes at once.
        let fixed = UploadWorker(outbox: fixture.outbox, store: client(env), settings: uplink, deviceID: fixture.deviceID, logger: Logger(label: "uplink"))
        fixed.flush()
        let resumed = UplinkFixture.start(fixed)
        #expect(await UplinkFixture.eventually { fixture.outbox.status().queuedItems == 0 })
        resumed.cancel()
        await resumed.value
        #expect(fixture.outbox.status().pausedReason == nil)
        let stored = try env.listObjects().filter { $0.key.hasPrefix(uplink.prefix + "/") }
        #expect(Set(stored.keys) == Set(expected.keys))
    }

    @Test func outageBacksOffThenDrainsWithoutDuplicates() async throws {
        let env = try S3TestEnvironment.require()
        let relay = try #require(env.relayPID, "REMOTAIR_TEST_S3_RELAY_PID")
        let fixture = try UplinkFixture()
        defer { fixture.cleanUp() }
        let uplink = settings(env, prefix: Self.uniquePrefix())
        let before = try fixture.enqueueMix(alarms: 4, snapshots: 2, samples: 2, uplink: uplink)

        kill(relay, SIGUSR1)
        defer { kill(relay, SIGUSR2) }
        try await Task.sleep(for: .milliseconds(300))
        let worker = UploadWorker(outbox: fixture.outbox, store: client(env), settings: uplink, deviceID: fixture.deviceID,
                                  logger: Logger(label: "uplink"), backoff: Backoff(base: .milliseconds(200), cap: .seconds(2)))
        let task = UplinkFixture.start(worker)
        #expect(await UplinkFixture.eventually { (fixture.outbox.status().lastError ?? "").hasPrefix("network") })
        // Items keep arriving during the outage.
        let during = try fixture.enqueueMix(alarms: 3, snapshots: 1, samples: 1, uplink: uplink)
        try await Task.sleep(for: .seconds(1))
        #expect(fixture.outbox.status().queuedItems == 13)
        #expect(fixture.outbox.status().pausedReason == nil)

        kill(relay, SIGUSR2)
        #expect(await UplinkFixture.eventually(timeout: .seconds(40)) { fixture.outbox.status().queuedItems == 0 })
        task.cancel()
        await task.value
        let expected = before.merging(during) { a, _ in a }
        let stored = try env.listObjects().filter { $0.key.hasPrefix(uplink.prefix + "/") }
        #expect(stored.count == expected.count)
        #expect(Set(stored.keys) == Set(expected.keys))
        for (key, bytes) in expected { #expect(stored[key]?.sha256 == TestDigest.sha256Hex(bytes), "\(key)") }
    }
}

import Foundation
import Logging
import Outbox
import Settings
import TestSupport
import Testing
import Uplink

@Suite struct FileEndpointTests {
    @Test func workerDrainsIntoTheSameKeyLayoutAlarmsFirst() async throws {
        let fixture = try UplinkFixture()
        defer { fixture.cleanUp() }
        let root = fixture.temp.file("uploads")
        var uplink = UplinkSettings()
        uplink.prefix = "remotair"
        uplink.concurrency = 1
        let expected = try fixture.enqueueMix(alarms: 3, snapshots: 2, samples: 2, uplink: uplink)
        let worker = UploadWorker(outbox: fixture.outbox, store: FileEndpoint(root: root), settings: uplink, deviceID: fixture.deviceID, logger: Logger(label: "uplink"))
        let task = UplinkFixture.start(worker)
        #expect(await UplinkFixture.eventually { fixture.outbox.status().queuedItems == 0 })
        task.cancel()
        await task.value
        for (key, bytes) in expected {
            #expect(FileManager.default.contents(atPath: root + "/" + key) == bytes, "\(key)")
        }
        let written = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".json") || $0.hasSuffix(".jpg") }
        #expect(Set(written) == Set(expected.keys))
        #expect(!written.contains { $0.hasSuffix(".tmp") })
        // Alarms were uploaded first: their files are older than every sample's.
        func mtime(_ key: String) throws -> Date { try FileManager.default.attributesOfItem(atPath: root + "/" + key)[.modificationDate] as? Date ?? .distantFuture }
        let alarms = try expected.keys.filter { $0.contains("/alarm/") }.map(mtime)
        let samples = try expected.keys.filter { $0.contains("/sample/") }.map(mtime)
        #expect(try #require(alarms.max()) <= (try #require(samples.min())))
        #expect(fixture.outbox.status().uploaded == 7)
    }
}

@Suite struct S3ErrorBodyTests {
    @Test func readsCodeAndMessage() {
        let body = Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><RequestId>1</RequestId></Error>
            """.utf8)
        let (code, message) = S3ErrorBody.parse(body)
        #expect(code == "SignatureDoesNotMatch")
        #expect(message == "The request signature we calculated does not match")
        #expect(UploadError.classify(status: 403, code: code, message: message).disposition == .pause)
    }

    @Test func survivesHostileBodies() {
        #expect(S3ErrorBody.parse([]).code == nil)
        #expect(S3ErrorBody.parse(Array("<Code>".utf8)).code == nil)
        #expect(S3ErrorBody.parse(Array("<Code><![CDATA[x]]></Code>".utf8)).code == nil)
        #expect(S3ErrorBody.parse(Array("<Code>\(String(repeating: "A", count: 500))</Code>".utf8)).code == nil)
        #expect(S3ErrorBody.parse([0xFF, 0xFE, 0x00] + Array("<Code>SlowDown</Code>".utf8)).code == "SlowDown")
        let huge = [UInt8](repeating: 0x3C, count: 5 << 20)
        #expect(S3ErrorBody.parse(huge).code == nil)
    }

    @Test func classifiesByCodeThenStatus() {
        #expect(UploadError.classify(status: 503, code: "SlowDown", message: nil).disposition == .transient)
        #expect(UploadError.classify(status: 400, code: "RequestTimeout", message: nil).disposition == .transient)
        #expect(UploadError.classify(status: 500, code: nil, message: nil).disposition == .transient)
        #expect(UploadError.classify(status: 403, code: "InvalidAccessKeyId", message: nil).disposition == .pause)
        #expect(UploadError.classify(status: 403, code: "RequestTimeTooSkewed", message: nil).disposition == .pause)
        #expect(UploadError.classify(status: 403, code: "AccessDenied", message: nil).disposition == .pause)
        #expect(UploadError.classify(status: 400, code: "BadDigest", message: nil).disposition == .item)
    }
}

@Suite struct CredentialsLoaderTests {
    @Test func refusesAFileOthersCanRead() throws {
        let temp = try TemporaryDirectory("creds")
        defer { temp.remove() }
        let path = try temp.write("credentials", "[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t/Key+\n")
        chmod(path, 0o644)
        do {
            _ = try CredentialsLoader.load(file: path, environment: [:])
            Issue.record("a 0644 credentials file was accepted")
        } catch {
            #expect(error.description.contains("mode 644"))
            #expect(error.description.contains("chmod 600"))
            #expect(!error.description.contains("s3cr3t"))
        }
        chmod(path, 0o600)
        let credentials = try CredentialsLoader.load(file: path, environment: [:])
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "s3cr3t/Key+"))
        #expect(!"\(credentials)".contains("s3cr3t"))
    }

    @Test func fallsBackToTheEnvironment() throws {
        let credentials = try CredentialsLoader.load(file: nil, environment: [
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
        ])
        #expect(credentials.sessionToken == "token")
        #expect(throws: CredentialsError.self) { try CredentialsLoader.load(file: nil, environment: [:]) }
    }
}

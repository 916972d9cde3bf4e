import Digests
import Foundation
import Testing
import Uplink

/// Our S3 signatures against the ones botocore (the AWS SDK for Python) computes for the same requests, in this run.
@Suite(.enabled(if: S3TestEnvironment.python != nil, "needs the test venv with botocore (scripts/test.d/40-outbox-s3 provides it)"))
struct SigV4BotocoreTests {
    struct Case {
        var host: String
        var path: String
        var body: Data
        var token: String?
        var region: String
    }

    static let cases: [Case] = [
        Case(host: "127.0.0.1:9000", path: "/remotair/remotair/dev-1/alarm/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.json",
             body: Data(#"{"alarm":"dust"}"#.utf8), token: nil, region: "us-east-1"),
        Case(host: "duct-images.s3.eu-west-3.amazonaws.com", path: "/fleet/rx 7/snapshot/2026/11/27/ça (1)+[x]!'*~.jpg",
             body: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }), token: nil, region: "eu-west-3"),
        Case(host: "minio.local:9443", path: "/b/k.json", body: Data(), token: "FQoGZXIvYXdzEXAMPLE//token+with/slashes==", region: "us-west-2"),
    ]

    @Test func signaturesMatchBotocore() throws {
        let python = try #require(S3TestEnvironment.python)
        let date = Date(timeIntervalSince1970: 1_795_773_600) // 2026-11-27T10:00:00Z
        var requests: [[String: Any]] = []
        var ours: [SigV4Signer.Signed] = []
        for item in Self.cases {
            let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: item.token)
            let signer = SigV4Signer(credentials: credentials, region: item.region)
            let sha = TestDigest.sha256Hex(item.body)
            let headers: [(name: String, value: String)] = [
                ("Host", item.host), ("Content-Type", "application/octet-stream"), ("Content-MD5", TestDigest.md5Base64(item.body)),
            ]
            ours.append(signer.sign(.init(method: "PUT", path: item.path, headers: headers, payloadSHA256: sha), at: date))
            var request: [String: Any] = [
                "scheme": "http", "host": item.host, "path": item.path, "body_hex": item.body.map { String(format: "%02x", $0) }.joined(),
                "headers": ["Content-Type": "application/octet-stream", "Content-MD5": TestDigest.md5Base64(item.body)],
                "access_key": credentials.accessKeyID, "secret_key": credentials.secretAccessKey, "region": item.region, "date": "20261127T100000Z",
            ]
            if let token = item.token { request["token"] = token }
            requests.append(request)
        }
        let output = try S3TestEnvironment.runScript(python: python, ["sign"], input: try JSONSerialization.data(withJSONObject: requests))
        let theirs = try #require(try JSONSerialization.jsonObject(with: output) as? [[String: String]])
        #expect(theirs.count == Self.cases.count)
        for (index, reference) in theirs.enumerated() {
            #expect(ours[index].canonicalRequest == reference["canonical_request"], "case \(index)")
            #expect(ours[index].authorization == reference["authorization"], "case \(index)")
        }
    }
}

import Foundation
import Settings
import Testing
@testable import Uplink

@Suite struct S3ClientAddressingTests {
    let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret")

    @Test func pathStyleKeepsTheBucketInThePath() async throws {
        let client = S3Client(endpoint: try #require(URL(string: "http://127.0.0.1:9000")), bucket: "b1", region: "us-east-1", addressing: .path, credentials: credentials)
        let target = client.location(key: "p/dev/alarm/2026/11/27/x y.json")
        #expect(target.host == "127.0.0.1:9000")
        #expect(target.path == "/b1/p/dev/alarm/2026/11/27/x y.json")
        #expect(target.url == "http://127.0.0.1:9000/b1/p/dev/alarm/2026/11/27/x%20y.json")
        await client.shutdown()
    }

    @Test func virtualHostedPutsTheBucketInTheHostAndDropsDefaultPorts() async throws {
        let client = S3Client(endpoint: try #require(URL(string: "https://s3.eu-west-3.amazonaws.com:443")), bucket: "fleet", region: "eu-west-3", addressing: .virtual, credentials: credentials)
        let target = client.location(key: "k.jpg")
        #expect(target.host == "fleet.s3.eu-west-3.amazonaws.com")
        #expect(target.path == "/k.jpg")
        #expect(target.url == "https://fleet.s3.eu-west-3.amazonaws.com/k.jpg")
        await client.shutdown()
    }
}

import Crypto
import Digests
import Foundation
import TestSupport
import Testing
import Uplink

/// The AWS SigV4 test suite (aws-c-auth tests/aws-signing-test-suite/v4): canonical request, string to sign and
/// signature of every header-signing case must match byte for byte.
@Suite struct SigV4SuiteTests {
    static let folder = PackagePaths.root + "/Tests/UplinkTests/Resources/sigv4"

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasSuffix(".txt") }.sorted()
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }

        var credentials: Credentials
        var normalize: Bool
        var region: String
        var service: String
        var sign_body: Bool
        var timestamp: String
        var omit_session_token: Bool?
    }

    /// Parses request.txt: request line, headers with folded continuation lines, blank line, body.
    static func parseRequest(_ text: String) throws -> (method: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)], body: Data) {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let space = try #require(requestLine.firstIndex(of: " "))
        let method = String(requestLine[..<space])
        var target = String(requestLine[requestLine.index(after: space)...])
        if target.hasSuffix(" HTTP/1.1") { target.removeLast(" HTTP/1.1".count) }
        var path = target
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let name = parts[0].removingPercentEncoding ?? parts[0]
                let value = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
                query.append((name, value))
            }
        }
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String] = []
        var inBody = false
        for line in lines {
            if inBody { bodyLines.append(line); continue }
            if line.isEmpty { inBody = true; continue }
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
                continue
            }
            let colon = try #require(line.firstIndex(of: ":"))
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        return (method, path, query, headers, Data(bodyLines.joined(separator: "\n").utf8))
    }

    @Test func suiteIsPresent() {
        #expect(Self.cases.count >= 30)
    }

    @Test(arguments: SigV4SuiteTests.cases)
    func matchesVector(_ name: String) throws {
        let directory = Self.folder + "/" + name
        func read(_ file: String) throws -> String { try String(contentsOfFile: directory + "/" + file, encoding: .utf8) }
        let context = try JSONDecoder().decode(Context.self, from: Data(try read("context.json").utf8))
        let request = try Self.parseRequest(try read("request.txt"))
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: context.credentials.access_key_id, secretAccessKey: context.credentials.secret_access_key,
                                        sessionToken: context.credentials.token),
            region: context.region, service: context.service, normalizePath: context.normalize)
        let date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
        let payload = context.sign_body ? TestDigest.sha256Hex(request.body) : SigV4Signer.emptyPayloadSHA256
        let signed = signer.sign(
            .init(method: request.method, path: request.path, query: request.query, headers: request.headers, payloadSHA256: payload),
            at: date, signPayloadHeader: context.sign_body, signSessionToken: !(context.omit_session_token ?? false))
        #expect(signed.canonicalRequest == (try read("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try read("header-string-to-sign.txt")))
        #expect(signed.signature == (try read("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

enum TestDigest {
    static func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
    static func md5Hex(_ data: Data) -> String { Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined() }
    static func md5Base64(_ data: Data) -> String { Data(Insecure.MD5.hash(data: data)).base64EncodedString() }
}

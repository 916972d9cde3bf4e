import Foundation
import TestSupport
import Testing

/// What scripts/test.d/40-outbox-s3 hands the S3 tests: a running moto_server with authentication on, a key made
/// through its IAM API, a bucket, and the venv's Python with boto3 for checking. Without REMOTAIR_TEST_S3_ENDPOINT the
/// tests are skipped (plain `swift test`); with it, anything missing or unreachable fails them.
struct S3TestEnvironment {
    var endpoint: URL
    var accessKey: String
    var secretKey: String
    var bucket: String
    var python: String
    /// PID of the TCP relay in front of moto: SIGUSR1 takes it down (connections refused), SIGUSR2 brings it back.
    var relayPID: Int32?

    static let variables = ProcessInfo.processInfo.environment
    static var requested: Bool { variables["REMOTAIR_TEST_S3_ENDPOINT"] != nil }

    static func require() throws -> S3TestEnvironment {
        let env = variables
        let endpoint = try #require(env["REMOTAIR_TEST_S3_ENDPOINT"].flatMap(URL.init(string:)), "REMOTAIR_TEST_S3_ENDPOINT")
        return S3TestEnvironment(
            endpoint: endpoint,
            accessKey: try #require(env["REMOTAIR_TEST_S3_ACCESS_KEY"], "REMOTAIR_TEST_S3_ACCESS_KEY"),
            secretKey: try #require(env["REMOTAIR_TEST_S3_SECRET_KEY"], "REMOTAIR_TEST_S3_SECRET_KEY"),
            bucket: try #require(env["REMOTAIR_TEST_S3_BUCKET"], "REMOTAIR_TEST_S3_BUCKET"),
            python: try #require(env["REMOTAIR_TEST_PYTHON"], "REMOTAIR_TEST_PYTHON"),
            relayPID: env["REMOTAIR_TEST_S3_RELAY_PID"].flatMap { Int32($0) })
    }

    /// The venv's Python, for botocore signatures: from REMOTAIR_TEST_PYTHON or the repository's .venv-test.
    static var python: String? {
        if let path = variables["REMOTAIR_TEST_PYTHON"] { return path }
        let venv = PackagePaths.root + "/.venv-test/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    static let script = PackagePaths.root + "/Tests/UplinkTests/Resources/s3check.py"

    /// Runs s3check.py with `arguments`, feeding `input`; returns its stdout (throws on a non-zero exit).
    static func runScript(python: String, _ arguments: [String], input: Data = Data(), environment: [String: String] = [:]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScriptError(message: "s3check.py \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return output
    }

    struct ScriptError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Every object in the bucket as boto3 reads it back.
    struct StoredObject: Decodable, Equatable {
        var size: Int
        var sha256: String
        var md5: String
        var etag: String
    }

    func listObjects() throws -> [String: StoredObject] {
        let data = try Self.runScript(python: python, ["list", bucket], environment: [
            "REMOTAIR_TEST_S3_ENDPOINT": endpoint.absoluteString, "REMOTAIR_TEST_S3_ACCESS_KEY": accessKey, "REMOTAIR_TEST_S3_SECRET_KEY": secretKey,
        ])
        return try JSONDecoder().decode([String: StoredObject].self, from: data)
    }
}

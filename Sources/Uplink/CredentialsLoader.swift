import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why credentials could not be had. Messages name the file or variable, never a secret.
public struct CredentialsError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Loads the uplink's access key: from a file (AWS shared-credentials style `key = value` lines, `[section]` headers and
/// `#` comments ignored) whose mode must be 0600 or stricter, or else from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and `AWS_SESSION_TOKEN`.
public enum CredentialsLoader {
    public static func load(file: String?, environment: [String: String]) throws(CredentialsError) -> AWSCredentials {
        if let file { return try load(file: file) }
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw CredentialsError(message: "no uplink.credentials_file and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not both set")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
    }

    public static func load(file: String) throws(CredentialsError) -> AWSCredentials {
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw CredentialsError(message: "credentials file \(file): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CredentialsError(message: "credentials file \(file) is not a regular file")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CredentialsError(message: "credentials file \(file) has mode \(String(mode, radix: 8)); refusing it because others can read it: chmod 600 \(file)")
        }
        guard info.st_size <= 64 * 1024, let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw CredentialsError(message: "credentials file \(file) is unreadable, not UTF-8 or larger than 64 KiB")
        }
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") || line.hasPrefix("[") { continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            values[name] = value
        }
        guard let key = values["aws_access_key_id"], !key.isEmpty, let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            throw CredentialsError(message: "credentials file \(file) needs aws_access_key_id and aws_secret_access_key lines")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

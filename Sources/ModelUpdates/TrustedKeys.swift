import Crypto
import Digests
import Foundation

/// The Ed25519 public keys a board trusts (`models.public_keys`): PEM files as `publish-model --new-key` writes
/// them (SubjectPublicKeyInfo), or the same PEM's base64 body alone.
public struct TrustedKeys: Sendable {
    public struct Key: Sendable {
        public let key: Curve25519.Signing.PublicKey
        /// First 16 hex digits of the SHA-256 of the raw key, as publish-model names it in the manifest.
        public let id: String
        /// Where it was read from, for messages.
        public let source: String
    }

    public let keys: [Key]

    public init(keys: [Key]) { self.keys = keys }

    /// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 },
    /// BIT STRING (33 bytes, 0 unused bits) }; the 32 raw key bytes follow. Fixed, so no ASN.1 parser is needed.
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// One key from PEM text; the error names the problem (the caller adds the file).
    public static func parse(pem text: String, source: String) throws(KeyError) -> Key {
        let body = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("-----") }
            .joined()
        if text.contains("PRIVATE KEY") { throw KeyError(source: source, problem: "is a private key; boards need only the .pub file") }
        guard let der = Data(base64Encoded: body) else { throw KeyError(source: source, problem: "is not PEM (base64 between BEGIN/END lines)") }
        guard der.count == spkiPrefix.count + 32, Array(der.prefix(spkiPrefix.count)) == spkiPrefix else {
            throw KeyError(source: source, problem: "is not an Ed25519 public key (\(der.count) bytes of DER)")
        }
        let raw = der.suffix(32)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw KeyError(source: source, problem: "holds an invalid Ed25519 point")
        }
        let id = Digest.sha256(raw).prefix(16)
        return Key(key: key, id: String(id), source: source)
    }

    /// The key that made `signature` over `bytes`, or nil when none of them did.
    public func verify(signature: Data, of bytes: Data) -> Key? {
        keys.first { $0.key.isValidSignature(signature, for: bytes) }
    }

    public struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
        public var source: String
        public var problem: String
        public var description: String { "public key \(source) \(problem)" }
    }
}

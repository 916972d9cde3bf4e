import Crypto
import Foundation

/// Lowercase hex digests, the one form the project writes them in: SHA-256 of models, calibration files and
/// outbox blobs, MD5 because S3 answers a single PUT with it as the ETag, and any other digest (SigV4's).
public enum Digest {
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    public static func md5(_ data: Data) -> String { hex(Insecure.MD5.hash(data: data)) }

    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

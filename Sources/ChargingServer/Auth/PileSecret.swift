import Crypto

/// The fast check of a pile's secret: SHA-256 of a random 16-byte salt and the secret (migration
/// 0007). Safe for the high-entropy secrets chargepile generates; see the README's Security section.
public enum PileSecret {
    public static func salted(_ secret: String) -> (salt: [UInt8], digest: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return (salt, digest(secret, salt: salt))
    }

    public static func digest(_ secret: String, salt: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: salt + Array(secret.utf8)))
    }

    /// Compares without stopping at the first difference.
    static func matches(_ secret: String, salt: [UInt8], digest expected: [UInt8]) -> Bool {
        let actual = digest(secret, salt: salt)
        return actual.count == expected.count && zip(actual, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

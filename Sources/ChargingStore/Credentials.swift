/// An account's id and bcrypt hash, as read for a login.
public struct Credentials: Sendable {
    public var subject: String
    public var passwordHash: String
    /// A pile's salted SHA-256 of its secret (migration 0007), checked instead of bcrypt when known.
    public var secretDigest: (salt: [UInt8], digest: [UInt8])?

    public init(subject: String, passwordHash: String, secretDigest: (salt: [UInt8], digest: [UInt8])? = nil) {
        self.subject = subject
        self.passwordHash = passwordHash
        self.secretDigest = secretDigest
    }
}

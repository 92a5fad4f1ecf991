/// An account's id and bcrypt hash, as read for a login.
public struct Credentials: Sendable {
    public var subject: String
    public var passwordHash: String
}

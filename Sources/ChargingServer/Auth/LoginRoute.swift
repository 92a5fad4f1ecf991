import ChargingStore
import Hummingbird
import PostgresClient

/// Everything a login route needs: tokens, bcrypt, the throttle and the audit trail.
struct LoginServices: Sendable {
    let tokens: TokenService
    let hasher: PasswordHasher
    let guardian: LoginGuard
    let audit: AuthAudit
}

/// The one login flow of every role: read the account parameter and `password`; refuse at once
/// while the account or the client address must wait or is locked (`-1 尝试次数过多，请稍后再试`);
/// check the password against the stored bcrypt hash (bounded concurrency); count a failure for
/// both, or clear the account's count; record the attempt; answer `{code, msg, token}`.
struct LoginRoute: Sendable {
    let services: LoginServices

    /// - Parameter admission: when given, a login over its rate is answered `-1` with `retry_after`
    ///   before its password is checked.
    func add<Account: Sendable>(
        _ path: String, role: AccountRole, to router: Router<AppRequestContext>,
        admission: PileAdmission? = nil,
        account: @escaping @Sendable (RequestParameters) throws -> Account?,
        name: @escaping @Sendable (Account) -> String,
        credentials: @escaping @Sendable (Account) async throws -> Credentials?
    ) {
        let services = self.services
        router.post(RouterPath(path)) { request, context -> APIResponse<NoPayload> in
            let parameters = try await RequestParameters.parse(request, context: context)
            if case .retry(let seconds) = admission?.admit() {
                throw APIError.admissionFull(retryAfterSeconds: seconds)
            }
            // An admitted pile's login still waits behind the piles already served.
            let token = try await PostgresPool.$priority.withValue(admission == nil ? .normal : .low) {
                try await services.logIn(parameters, role: role, context: context, account: account, name: name, credentials: credentials)
            }
            return .success("登录成功", token: token)
        }
    }
}

extension LoginServices {
    func logIn<Account: Sendable>(
        _ parameters: RequestParameters, role: AccountRole, context: AppRequestContext,
        account: (RequestParameters) throws -> Account?, name: (Account) -> String,
        credentials: (Account) async throws -> Credentials?
    ) async throws -> String {
        let address = context.clientAddress
        let parsed = try account(parameters)
        let password = try parameters.string("password")
        guard let parsed else {
            await audit.record("login", role: role, username: "", address: address, outcome: .invalid, logger: context.logger)
            throw APIError.wrongCredentials
        }
        let username = name(parsed)
        let accountKey = LoginGuard.accountKey(role: role, username: username)
        guard password.utf8.count <= PasswordHasher.maxPasswordBytes else {
            await audit.record("login", role: role, username: username, address: address, outcome: .invalid, logger: context.logger)
            throw APIError.passwordTooLong
        }
        let failuresCounted: Bool
        do {
            failuresCounted = try await guardian.check(accountKey: accountKey, address: address)
        } catch let error as APIError where error == .tooManyAttempts {
            await audit.record("login", role: role, username: username, address: address, outcome: .throttled, logger: context.logger)
            throw error
        }
        let found = try await credentials(parsed)
        let matches: Bool
        do {
            if let found, let (salt, digest) = found.secretDigest {
                // A pile's generated secret: the salted digest, as the OCPP handshake checks it, so a storm of
                // reconnecting piles costs no bcrypt.
                matches = PileSecret.matches(password, salt: salt, digest: digest)
            } else if let found {
                matches = try await hasher.verify(password, hash: found.passwordHash)
            } else {
                try await hasher.verifyAgainstNothing(password)
                matches = false
            }
        } catch is PasswordHasher.Busy {
            await audit.record("login", role: role, username: username, address: address, outcome: .busy, logger: context.logger)
            throw APIError.busy
        }
        guard let found, matches else {
            try await guardian.failed(accountKey: accountKey, address: address)
            await audit.record("login", role: role, username: username, address: address, outcome: .failure, logger: context.logger)
            throw APIError.wrongCredentials
        }
        if failuresCounted { try await guardian.succeeded(accountKey: accountKey) }
        let token = try await tokens.issue(role: role, subject: found.subject)
        await audit.record("login", role: role, username: username, address: address, outcome: .success, logger: context.logger)
        return token
    }

    /// `/a/logout`, `/u/logout`, `/p/logout`: revokes the token the request carries.
    func logOut(_ identity: Identity, address: String, context: some RequestContext) async throws -> APIResponse<NoPayload> {
        try await tokens.revoke(hash: identity.tokenHash, role: identity.role)
        await audit.record("logout", role: identity.role, username: identity.subject, address: address, outcome: .success,
                           logger: context.logger)
        return .success("退出成功")
    }
}

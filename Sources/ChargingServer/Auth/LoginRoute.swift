import ChargingStore
import Hummingbird

/// The one login flow of every role: read the account parameter and `password`, check them
/// against the stored bcrypt hash, answer `{code, msg, token}`.
struct LoginRoute: Sendable {
    let tokens: TokenService
    let hasher: PasswordHasher

    func add<Account: Sendable>(
        _ path: String, role: AccountRole, to router: Router<AppRequestContext>,
        account: @escaping @Sendable (RequestParameters) throws -> Account,
        credentials: @escaping @Sendable (Account) async throws -> Credentials?
    ) {
        router.post(RouterPath(path)) { request, context -> APIResponse<NoPayload> in
            let parameters = try await RequestParameters.parse(request, context: context)
            let name = try account(parameters)
            let password = try parameters.string("password")
            let token = try await tokens.logIn(try await credentials(name), password: password, role: role, hasher: hasher)
            return .success("登录成功", token: token)
        }
    }
}

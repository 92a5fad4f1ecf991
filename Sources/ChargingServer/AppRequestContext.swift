import ChargingStore
import HTTPTypes
import Hummingbird
import NIOCore

/// The request context every route starts with.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The socket's peer.
    public let remoteAddress: SocketAddress?
    /// Who the request comes from: the peer, or the client a trusted proxy forwarded for (`ClientAddressMiddleware`).
    public var clientAddress: String
    /// Set by `AuthenticatorMiddleware` for the routes of a role; the role's child context requires it.
    var identity: Identity?
    /// The request's parameters, parsed once by `AuthenticatorMiddleware`.
    var input: RequestParameters?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        clientAddress = remoteAddress?.ipAddress ?? "unknown"
    }

    /// Bodies are small forms; anything larger is refused with `code -1` before parsing.
    public var maxUploadSize: Int { 64 * 1024 }
}

/// A live token's account.
struct Identity: Sendable {
    var role: AccountRole
    var subject: String
    /// The SHA-256 (hex) of the token the request carried: what logout revokes.
    var tokenHash: String
}

/// The context of a role's routes: the identity is not optional. Built from `AppRequestContext`
/// after `AuthenticatorMiddleware` has checked the token; a route in a role's group can't be
/// reached without one.
protocol AuthenticatedRequestContext: ChildRequestContext where ParentContext == AppRequestContext {
    static var role: AccountRole { get }
    var identity: Identity { get }
    var input: RequestParameters { get }
    var clientAddress: String { get }
}

extension AuthenticatedRequestContext {
    static func unpack(_ context: AppRequestContext) throws -> (Identity, RequestParameters) {
        guard let identity = context.identity, identity.role == role, let input = context.input else { throw APIError.invalidToken }
        return (identity, input)
    }
}

/// Which role a `RoleRequestContext` is for.
protocol RequestRole: Sendable {
    static var role: AccountRole { get }
}

enum AdminRole: RequestRole { static let role = AccountRole.admin }
enum DriverRole: RequestRole { static let role = AccountRole.driver }
enum PileRole: RequestRole { static let role = AccountRole.pile }

/// The context of one role's routes; one generic type, so the three can't drift apart.
struct RoleRequestContext<Role: RequestRole>: AuthenticatedRequestContext {
    static var role: AccountRole { Role.role }
    var coreContext: CoreRequestContextStorage
    let identity: Identity
    let input: RequestParameters
    let clientAddress: String
    var maxUploadSize: Int { 64 * 1024 }

    init(context: AppRequestContext) throws {
        let (identity, input) = try Self.unpack(context)
        self.identity = identity
        self.input = input
        coreContext = context.coreContext
        clientAddress = context.clientAddress
    }
}

typealias AdminRequestContext = RoleRequestContext<AdminRole>
typealias DriverRequestContext = RoleRequestContext<DriverRole>
typealias PileRequestContext = RoleRequestContext<PileRole>

extension RoleRequestContext where Role == DriverRole {
    /// The driver's id (`drivers.id`).
    var driverID: Int64 { Int64(identity.subject) ?? -1 }
}

/// Checks the token of every route of its group: parses the parameters once, finds the token
/// (the `token` parameter or `Authorization: Bearer`), and sets the identity the role's child
/// context requires. A bad token is `-1 token无效或已过期` before any handler runs.
struct AuthenticatorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let role: AccountRole
    let tokens: TokenService

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let parameters = try await RequestParameters.parse(request, context: context)
        let (subject, hash) = try await tokens.authenticateWithHash(request, parameters: parameters, role: role)
        context.identity = Identity(role: role, subject: subject, tokenHash: hash)
        context.input = parameters
        return try await next(request, context)
    }
}

/// Sets `clientAddress`: the peer, or what a trusted proxy says in `X-Forwarded-For`.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trustedProxies: TrustedNetworks

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.clientAddress = ClientAddress.resolve(
            peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor], trustedProxies: trustedProxies)
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

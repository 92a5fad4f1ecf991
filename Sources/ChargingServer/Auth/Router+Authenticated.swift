import Hummingbird

extension Router where Context == AppRequestContext {
    /// A group of one role's routes: each request's token is checked by `AuthenticatorMiddleware`
    /// before the route's handler, which gets the role's context with a non-optional identity.
    func authenticated<RoleContext: AuthenticatedRequestContext>(_ context: RoleContext.Type, tokens: TokenService) -> RouterGroup<RoleContext> {
        group().add(middleware: AuthenticatorMiddleware(role: RoleContext.role, tokens: tokens)).group(context: RoleContext.self)
    }
}

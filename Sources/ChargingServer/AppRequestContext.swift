import Hummingbird

/// The one request context of the app.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Bodies are small forms; anything larger is refused with `code -1` before parsing.
    public var maxUploadSize: Int { 64 * 1024 }
}

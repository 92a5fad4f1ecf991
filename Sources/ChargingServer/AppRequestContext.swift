import Hummingbird
import HummingbirdWebSocket

/// The one request context of the app; WebSocket-capable for the piles' `/p/ws`.
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// Set by `PileAuthenticationMiddleware` before `/p/ws` upgrades.
    var pileID: Int?

    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
    }

    /// Bodies are small forms; anything larger is refused with `code -1` before parsing.
    public var maxUploadSize: Int { 64 * 1024 }
}

import NIOCore
import NIOHTTP1

/// Answers what can't be a request of ours at once and closes the connection, instead of holding
/// it until the idle timeout: what NIO's parser refuses (a bad method or request line, conflicting
/// lengths, TLS bytes on the plain port: 400; oversized headers: 431), and a request line longer
/// than `maxURILength` (414).
final class HTTPParseErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxURILength = 8 * 1024

    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        if case .head(let head) = unwrapInboundIn(data), head.uri.utf8.count > Self.maxURILength {
            return refuse(.uriTooLong, context: context)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        refuse(parseError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest, context: context)
    }

    private func refuse(_ status: HTTPResponseStatus, context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let headers = HTTPHeaders([("Connection", "close"), ("Content-Length", "0")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        // On the channel's event loop, where the context may be used: close once the answer is written.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

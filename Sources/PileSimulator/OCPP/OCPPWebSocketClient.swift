import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
import WSClient
@_spi(WSInternal) import WSCore

/// A charge point's WebSocket upgrade that the server refused: the HTTP status it answered and its text.
public struct OCPPUpgradeRefused: Error, Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var status: Int
    public var reasonPhrase: String
    /// The body of the answer (its first 1 KiB), as the server wrote it.
    public var body: String

    public var description: String {
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(url): the server refused the upgrade with HTTP \(status) \(reasonPhrase)"
            + (text.isEmpty ? "" : ", saying \"\(text)\"")
    }
}

/// The WebSocket connection of a simulated charge point. It is WSClient's, but opened by a channel of
/// ours, because WSClient reports a refused upgrade only as "upgrade failed": a charger (and whoever
/// runs `chargepile sim`) must see what the server answered (400, 401, 404, 429, 503) and its text.
/// Once upgraded, the socket is served by WSCore's `WebSocketHandler` (its SPI, as WSClient and
/// hummingbird-websocket use it), so frames, pings and closing behave exactly as with WSClient.
enum OCPPWebSocketClient {
    struct Context: WebSocketContext {
        let logger: Logger
    }

    /// Connects, upgrades and runs `handler` on the socket; returns the server's close frame, if any.
    /// Throws `OCPPUpgradeRefused` when the server answers the upgrade with anything but 101.
    static func run(
        url: String, headers: [(String, String)], maxFrameSize: Int, logger: Logger,
        handler: @escaping WebSocketDataHandler<Context>
    ) async throws -> WebSocketCloseFrame? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, scheme == "ws" || scheme == "wss",
              let host = components.host, !host.isEmpty
        else {
            throw PileSimulatorError.invalidBaseURL(url)
        }
        let tls = scheme == "wss"
        let port = components.port ?? (tls ? 443 : 80)
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        var requestHeaders = HTTPHeaders()
        requestHeaders.add(name: "Host", value: components.port.map { "\(host):\($0)" } ?? host)
        for (name, value) in headers { requestHeaders.add(name: name, value: value) }

        let channel = UpgradeChannel(
            url: url, path: path, headers: requestHeaders, host: host, maxFrameSize: maxFrameSize,
            sslContext: tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil, handler: handler)
        return try await ClientConnection(channel, address: .hostname(host, port: port), logger: logger).run()
    }

    private struct UpgradeChannel: ClientConnectionChannel {
        enum Upgrade: Sendable {
            case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
            case refused(EventLoopFuture<OCPPUpgradeRefused>)
        }

        typealias Value = EventLoopFuture<Upgrade>
        typealias Result = WebSocketCloseFrame?

        let url: String
        let path: String
        let headers: HTTPHeaders
        let host: String
        let maxFrameSize: Int
        let sslContext: NIOSSLContext?
        let handler: WebSocketDataHandler<Context>

        func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxFrameSize) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        .websocket(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                    }
                }
                let url = self.url
                let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                    upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers),
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        // The answer's head (and then its body) pass on down the pipeline: collect them there.
                        channel.eventLoop.makeCompletedFuture {
                            let promise = channel.eventLoop.makePromise(of: OCPPUpgradeRefused.self)
                            try channel.pipeline.syncOperations.addHandler(RefusalCollector(url: url, promise: promise))
                            return .refused(promise.futureResult)
                        }
                    })
                var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
                configuration.leftOverBytesStrategy = .forwardBytes
                if let sslContext {
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: sslContext, serverHostname: host), position: .first)
                }
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
            }
        }

        func handle(value: Value, logger: Logger) async throws -> WebSocketCloseFrame? {
            switch try await value.get() {
            case .websocket(let socket):
                return try await WebSocketHandler.handle(
                    type: .client,
                    configuration: .init(extensions: [], autoPing: .disabled, validateUTF8: false, maxFrameSize: maxFrameSize),
                    asyncChannel: socket, context: Context(logger: logger), handler: handler)
            case .refused(let refusal):
                throw try await refusal.get()
            }
        }
    }

    /// Reads the answer to a refused upgrade (status, then up to 1 KiB of body) and closes the connection.
    private final class RefusalCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        private let url: String
        private let promise: EventLoopPromise<OCPPUpgradeRefused>
        private var head: HTTPResponseHead?
        private var body = ByteBuffer()
        private var done = false

        init(url: String, promise: EventLoopPromise<OCPPUpgradeRefused>) {
            self.url = url
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
            case .body(var part):
                if body.readableBytes < 1024, let bytes = part.readSlice(length: min(part.readableBytes, 1024 - body.readableBytes)) {
                    body.writeImmutableBuffer(bytes)
                }
            case .end:
                finish(context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(context: context)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A body cut short still says why: the head is what counts.
            finish(context: context, error: error)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            finish(context: context, close: false)
        }

        private func finish(context: ChannelHandlerContext, error: (any Error)? = nil, close: Bool = true) {
            guard !done else { return }
            done = true
            if let head {
                promise.succeed(OCPPUpgradeRefused(
                    url: url, status: Int(head.status.code), reasonPhrase: head.status.reasonPhrase,
                    body: String(decoding: body.readableBytesView, as: UTF8.self)))
            } else {
                promise.fail(error ?? ChannelError.eof)
            }
            if close { context.close(promise: nil) }
        }
    }
}

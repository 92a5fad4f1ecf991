import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import PostgresClient
import Synchronization

/// One pile protocol's door: which upgrade requests it takes, and the session it gives a socket.
protocol PileSocketAcceptor: Sendable {
    /// Whether upgrade requests to this path (without its query) are this acceptor's.
    func serves(path: Substring) -> Bool
    /// Authenticates an upgrade request from `peer`: the pile, its session and extra 101 headers, or a refusal.
    func accept(upgrading request: Request, peer: SocketAddress?) async throws -> PileSocketAcceptance
}

enum PileSocketAcceptance: Sendable {
    case accepted(pileID: Int, session: any PileSession, headers: HTTPHeaders)
    case refused(UpgradeRefusal)
}

/// How a refused upgrade is answered: in the API's envelope (our protocol), or with a bare HTTP
/// status, which is what OCPP chargers expect (400, 401 with a Basic challenge, 404).
enum UpgradeRefusal: Sendable, Equatable {
    case envelope(APIError)
    case status(HTTPResponse.Status, challenge: Bool = false)
}

/// Each connection of the server: HTTP/1.1 for the APIs, or (as its first request) a pile's
/// WebSocket upgrade at one of the acceptors' paths (`/p/ws`, `/ocpp/{id}`). An upgraded socket
/// is served by NIO channel handlers alone (`PileSocketHandler`), so 10,000 idle piles hold no
/// Swift tasks; Hummingbird's own WebSocket channel keeps one (plus a ping task) for every socket.
struct PileSocketChannel: ServerChildChannel, HTTPChannelHandler {
    struct Settings: Sendable {
        var maxMessageSize: Int
        var pingInterval: Duration
        var writeTimeout: Duration
        /// For HTTP connections: the longest wait for a request, the first one included.
        var idleTimeout: Duration
        /// Open connections (HTTP and pile sockets) beyond which new ones are closed at once, before
        /// the process runs out of file descriptors.
        var maxConnections: Int
    }

    enum UpgradeResult: Sendable {
        case pileSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// The first request asked to upgrade and was refused, for this reason.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, UpgradeRefusal)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    /// Output a pile socket may have waiting to be written before the pile counts as not reading.
    static let maxBufferedOutput = 64 * 1024

    let responder: HTTPChannelHandler.Responder
    private let acceptors: [any PileSocketAcceptor]
    private let settings: Settings
    private let openConnections = ConnectionCount()

    init(responder: @escaping HTTPChannelHandler.Responder, acceptors: [any PileSocketAcceptor], settings: Settings) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.acceptors = acceptors
        self.settings = settings
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let openConnections = self.openConnections
        let open = openConnections.opened()
        channel.closeFuture.whenComplete { _ in openConnections.closed() }
        guard open <= settings.maxConnections else {
            logger.warning("connection refused: too many open", metadata: ["open": "\(open)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        return channel.eventLoop.makeCompletedFuture {
            let askedToUpgrade = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            // An HTTP-only handler the upgrade must take out (NIO removes only its own HTTP handlers).
            let upgradedParseErrors = NIOLoopBoundBox(HTTPParseErrorResponder?.none, eventLoop: channel.eventLoop)
            let accepted = NIOLoopBoundBox((pileID: Int, session: any PileSession)?.none, eventLoop: channel.eventLoop)
            // Why an upgrade was refused; NIO asks `shouldUpgrade` only once the handshake headers are valid.
            let refusal = NIOLoopBoundBox(UpgradeRefusal.envelope(APIError("WebSocket握手无效")), eventLoop: channel.eventLoop)
            let acceptors = self.acceptors
            let settings = self.settings
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: settings.maxMessageSize,
                shouldUpgrade: { channel, head in
                    let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    guard let acceptor = acceptors.first(where: { $0.serves(path: path) }) else {
                        refusal.value = .envelope(APIError("该地址不支持WebSocket"))
                        return channel.eventLoop.makeSucceededFuture(nil)
                    }
                    let request = Request(head: HTTPRequest(head), body: .init(buffer: ByteBuffer()))
                    let peer = channel.remoteAddress
                    let authenticated = channel.eventLoop.makePromise(of: PileSocketAcceptance.self)
                    // A connecting pile's checks wait behind the piles already served (a storm is thousands at once).
                    authenticated.completeWithTask {
                        do {
                            return try await PostgresPool.$priority.withValue(.low) { try await acceptor.accept(upgrading: request, peer: peer) }
                        } catch {
                            return .refused(.envelope(.unavailable))
                        }
                    }
                    return authenticated.futureResult.map { acceptance in
                        switch acceptance {
                        case .accepted(let pileID, let session, let headers):
                            accepted.value = (pileID, session)
                            return headers
                        case .refused(let reason):
                            refusal.value = reason
                            return nil
                        }
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let (id, session) = accepted.value else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                        if let parseErrors = upgradedParseErrors.value {
                            channel.pipeline.syncOperations.removeHandler(parseErrors, promise: nil)
                        }
                        // A pile that stops reading is closed once this much of our output waits for it (PileSocketHandler).
                        try channel.syncOptions?.setOption(
                            ChannelOptions.writeBufferWaterMark, value: .init(low: 16 * 1024, high: Self.maxBufferedOutput))
                        let connection = PileConnection(pileID: id, channel: channel, session: session,
                                                        writeTimeout: .init(settings.writeTimeout), logger: logger)
                        try channel.pipeline.syncOperations.addHandler(PileSocketHandler(
                            connection: connection, maxMessageSize: settings.maxMessageSize,
                            pingInterval: .init(settings.pingInterval)))
                        connection.enqueue(.opened)
                        return .pileSocket
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(
                upgradeConfiguration: .init(upgraders: [upgrader], notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: settings.idleTimeout, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return askedToUpgrade.value ? .refusedUpgrade(http, refusal.value) : .http(http)
                    }
                }))
            configuration.enablePipelining = false  // NIOAsyncChannel serializes HTTP requests
            configuration.enableErrorHandling = false  // Hummingbird answers HTTP errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(
                FirstRequestObserver(askedToUpgrade: askedToUpgrade, timeout: .init(settings.idleTimeout)), position: .after(decoder))
            let parseErrors = HTTPParseErrorResponder()
            try channel.pipeline.syncOperations.addHandler(parseErrors, position: .after(decoder))
            upgradedParseErrors.value = parseErrors
            return Value(upgradeResult: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .pileSocket:
                return  // the socket lives on in its channel handlers
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedUpgrade(let http, let refusal):
                try await Self.answer(refusal, on: http)
            }
        } catch {
            logger.debug("connection ended before its first request was answered", metadata: ["error": "\(error)"])
            try? await value.channel.close()
        }
    }

    /// NIO keeps a refused upgrade request to itself, so it can't go through the router: the
    /// refusal is answered here (in the API's envelope, `code -1`, or as a bare status) and the connection closed.
    private static func answer(_ refusal: UpgradeRefusal, on http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async throws {
        let head: HTTPResponse
        let body: ByteBuffer
        switch refusal {
        case .envelope(let error):
            body = try APIResponse<NoPayload>.failure(error).json()
            head = HTTPResponse(status: .ok, headerFields: [.contentType: "application/json; charset=utf-8"])
        case .status(let status, let challenge):
            body = ByteBuffer(string: "\(status.code) \(status.reasonPhrase)\n")
            var fields: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            if challenge { fields[.wwwAuthenticate] = #"Basic realm="chargepile", charset="UTF-8""# }
            head = HTTPResponse(status: status, headerFields: fields)
        }
        var response = head
        response.headerFields[.connection] = "close"
        response.headerFields[.contentLength] = "\(body.readableBytes)"
        try await http.executeThenClose { _, outbound in
            try await outbound.write(contentsOf: [.head(response), .body(body), .end(nil)])
        }
    }

    /// NIO upgrades only a connection's first request. A later upgrade request is redirected to the
    /// same URI with `Connection: close`, so the client retries on a fresh connection (as Hummingbird does).
    private static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            let location = request.uri.query.map { "\(request.uri.path)?\($0)" } ?? request.uri.path
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw RedirectedUpgrade()
        }
    }
}

private struct RedirectedUpgrade: Error {}

/// The connections this server has open.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts a new connection; returns how many are open with it.
    func opened() -> Int { count.add(1, ordering: .relaxed).newValue }

    func closed() { count.subtract(1, ordering: .relaxed) }
}

/// Waits for a connection's first request: closes the connection when none comes within
/// `timeout`, and records whether it asked to upgrade (NIO swallows such a request when it
/// does not upgrade it, whether its handshake headers were wrong or we said no).
private final class FirstRequestObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let askedToUpgrade: NIOLoopBoundBox<Bool>
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(askedToUpgrade: NIOLoopBoundBox<Bool>, timeout: TimeAmount) {
        self.askedToUpgrade = askedToUpgrade
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        askedToUpgrade.value = head.headers.contains(name: "upgrade")
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

private extension HTTPRequest {
    /// Enough of an HTTP/1 head to authenticate it: method, path with query, headers.
    init(_ head: HTTPRequestHead) {
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        self.init(method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: nil, authority: nil, path: head.uri,
                  headerFields: fields)
    }
}

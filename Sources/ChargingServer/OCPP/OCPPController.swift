import ChargingStore
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import OCPP16
import PileRouting

/// OCPP 1.6J chargers: the WebSocket door `/ocpp/{chargePointId}` (subprotocol `ocpp1.6`, HTTP
/// Basic auth with the pile's secret) and the operator's endpoints beside the seed's.
struct OCPPController: PileSocketAcceptor {
    let services: OCPPServices
    /// A charger's handshake is a login: the same throttle and audit trail as `/p/login`.
    let login: LoginServices
    let trustedProxies: TrustedNetworks
    /// Whether the proxy's TLS headers are believed (`ProxiedTransport`).
    let tlsTrust: ProxyTLSTrust
    let tokens: TokenService
    let delivery: CommandDelivery
    let commandTimeout: Duration

    static let pathPrefix = "/ocpp/"
    static let subprotocol = "ocpp1.6"

    func serves(path: Substring) -> Bool { path.hasPrefix(Self.pathPrefix) }

    /// No `ocpp1.6` subprotocol → 400; unknown chargePointId → 404; a connection the pile's security profile
    /// does not allow (no TLS for 2 and 3; no verified client certificate naming it for 3) → 403; bad or missing
    /// credentials → 401 (a profile-3 charger may leave Basic out: its certificate is its credential);
    /// the database out of reach → 503 (a charger retries on a status, not on our JSON envelope).
    /// While the charger's identity or address must wait or is locked (failed handshakes count like failed
    /// logins): 429, without checking the password.
    func accept(upgrading request: Request, peer: SocketAddress?) async throws -> PileSocketAcceptance {
        let address = ClientAddress.resolve(peer: peer, forwardedFor: request.headers[values: .xForwardedFor], trustedProxies: trustedProxies)
        let transport = ProxiedTransport.resolve(headers: request.headers, peer: peer, trust: tlsTrust)
        do {
            return try await checkHandshake(request, address: address, transport: transport)
        } catch {
            return .refused(.status(.serviceUnavailable))
        }
    }

    private func checkHandshake(_ request: Request, address: String, transport: ProxiedTransport) async throws -> PileSocketAcceptance {
        let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(Self.subprotocol) else { return .refused(.status(.badRequest)) }
        let path = request.uri.path
        guard let chargePointID = String(path.dropFirst(Self.pathPrefix.count)).removingPercentEncoding,
              (1...20).contains(chargePointID.count), !chargePointID.contains("/")
        else { return .refused(.status(.notFound)) }
        let account = LoginGuard.accountKey(role: .pile, username: chargePointID)
        let handshake = try await services.store.handshake(ocppID: chargePointID, accountKey: account, addressKey: LoginGuard.addressKey(address),
                                                           window: login.guardian.defence.window)
        guard let chargePoint = handshake.chargePoint else { return .refused(.status(.notFound)) }
        let failuresCounted: Bool
        do {
            failuresCounted = try login.guardian.judge(account: handshake.account, address: handshake.address)
        } catch let error as APIError where error == .tooManyAttempts {
            await login.audit.record("login", role: .pile, username: chargePointID, address: address, outcome: .throttled, logger: login.audit.logger)
            return .refused(.status(.tooManyRequests))
        }
        // Not a guess at the password: refused without counting a failure, but in the audit trail.
        if let refusal = transport.refusal(securityProfile: chargePoint.securityProfile, chargePointID: chargePointID) {
            login.audit.logger.notice("OCPP handshake refused by the pile's security profile",
                                      metadata: ["chargePointId": "\(chargePointID)", "client": "\(address)", "why": "\(refusal)"])
            await login.audit.record("login", role: .pile, username: chargePointID, address: address, outcome: .failure, logger: login.audit.logger)
            return .refused(.status(.forbidden))
        }
        let credentials = Self.basicCredentials(request)
        let certificateSuffices = chargePoint.securityProfile == 3 && credentials == nil
        if !certificateSuffices {
            guard let (user, password) = credentials, user == chargePointID,
                  try await services.credentials.verify(password, chargePoint: chargePoint)
            else {
                try await login.guardian.failed(accountKey: account, address: address)
                await login.audit.record("login", role: .pile, username: chargePointID, address: address, outcome: .failure, logger: login.audit.logger)
                return .refused(.status(.unauthorized, challenge: true))
            }
        }
        if failuresCounted { try await login.guardian.succeeded(accountKey: account) }
        await login.audit.record("login", role: .pile, username: chargePointID, address: address, outcome: .success, logger: login.audit.logger)
        let session = OCPPChargePointSession(chargePointID: chargePointID, services: services)
        return .accepted(pileID: chargePoint.pileID, session: session, headers: ["Sec-WebSocket-Protocol": Self.subprotocol])
    }

    /// `Authorization: Basic base64(user:password)`.
    static func basicCredentials(_ request: Request) -> (user: String, password: String)? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst("basic ".count)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    // MARK: Operator endpoints

    func addRoutes(to router: Router<AppRequestContext>) {
        let admin = router.authenticated(AdminRequestContext.self, tokens: tokens)
        admin.post("/admin/ocpp/call", use: operatorCall)
        admin.post("/admin/idtags", use: provisionTag)
        admin.get("/admin/ocpp/security-events", use: securityEvents)
    }

    /// Chargers' SecurityEventNotifications, newest first: `pile_id`? and `limit`? (≤ 500, default 50).
    @Sendable func securityEvents(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[SecurityEventResponse]> {
        let parameters = context.input
        let events = try await services.store.securityEvents(pileID: try parameters.optionalRowID("pile_id"),
                                                             limit: try parameters.rowLimit(default: 50, max: 500))
        return .success("获取成功", data: events.map(SecurityEventResponse.init))
    }

    /// Any CSMS-initiated 1.6 action to a pile wherever it is connected: `data` is the charger's
    /// CALLRESULT payload; its CALLERROR is `-1` with the error as `data`.
    @Sendable func operatorCall(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<JSONValue> {
        let parameters = context.input
        let pileID = try parameters.int("id")
        let actionName = try parameters.string("action")
        guard let action = OCPPAction(rawValue: actionName), action.isSentByCentralSystem else {
            throw APIError.invalidParameter("action")
        }
        let payloadText = try parameters.optionalJSONText("payload") ?? "{}"
        guard let payload = try? JSONValue(parsing: payloadText), payload.objectValue != nil else {
            throw APIError.invalidParameter("payload")
        }
        do { try action.validateRequest(payload) } catch { throw APIError("payload不符合OCPP 1.6: \(error.description)") }
        let station = try await services.stations.scope(parameters.optionalStation())
        if station != nil, !(try await services.stations.pile(pileID, isIn: station)) { throw APIError.unknownPile }
        guard let protocolName = try await services.store.protocolOfPile(pileID) else {
            throw try await services.store.pileExists(pileID) ? APIError.pileOffline : APIError.unknownPile
        }
        guard protocolName == PileProtocolName.ocpp16.rawValue else { throw APIError("该充电桩不使用OCPP协议") }
        let result = try await delivery.sendOCPPCall(action: action.rawValue, payload: payload.jsonText, toPile: pileID, timeout: commandTimeout)
        let answer = result.answer.flatMap { try? JSONValue(parsing: $0) }
        switch result.outcome {
        case .written: return .success("获取成功", data: answer ?? [:])
        case .rejected: return APIResponse(code: -1, msg: "充电桩返回错误", token: nil, data: answer ?? [:])
        case .unknownPile: throw APIError.unknownPile
        case .offline: throw APIError.pileOffline
        case .failed, .expired, .pending: throw APIError.writeFailed
        }
    }

    /// An RFID card for a driver: `id_tag`, `username`, optional `parent_id_tag`, `expires_at` (ISO-8601), `blocked`.
    @Sendable func provisionTag(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = context.input
        let idTag = try parameters.string("id_tag")
        guard (1...20).contains(idTag.count) else { throw APIError.invalidParameter("id_tag") }
        let parent = try parameters.optionalString("parent_id_tag")
        guard parent.map({ (1...20).contains($0.count) }) ?? true else { throw APIError.invalidParameter("parent_id_tag") }
        let expiry = try parameters.optionalString("expires_at").map { text in
            guard let date = ISO8601.parse(text) else { throw APIError.invalidParameter("expires_at") }
            return date
        }
        let blocked = try parameters.optionalString("blocked").map { text in
            guard let value = Bool(text.lowercased()) else { throw APIError.invalidParameter("blocked") }
            return value
        } ?? false
        guard try await services.store.upsertIdTag(idTag, driverUsername: try parameters.string("username"), parentIdTag: parent,
                                                   expiresAt: expiry, blocked: blocked)
        else { throw APIError("用户不存在") }
        return .success("设置成功")
    }
}

/// A row of `GET /admin/ocpp/security-events`.
struct SecurityEventResponse: Encodable, Sendable {
    var event_id: Int64
    var pile_id: Int
    var type: String
    var charger_timestamp: String
    var tech_info: String?
    var received_at: String

    init(_ event: OCPPStore.SecurityEvent) {
        event_id = event.id
        pile_id = event.pileID
        type = event.type
        charger_timestamp = ISO8601.format(event.chargerTimestamp)
        tech_info = event.techInfo
        received_at = ISO8601.format(event.receivedAt)
    }

    /// `tech_info` is null when the charger sent none, not left out.
    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case event_id, pile_id, type, charger_timestamp, tech_info, received_at }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(event_id, forKey: .event_id)
        try container.encode(pile_id, forKey: .pile_id)
        try container.encode(type, forKey: .type)
        try container.encode(charger_timestamp, forKey: .charger_timestamp)
        try container.encode(tech_info, forKey: .tech_info)
        try container.encode(received_at, forKey: .received_at)
    }
}

import ChargingStore
import Foundation
import Hummingbird

/// Firmware updates and diagnostics uploads over many chargers, as operations (`OCPPOperationsService`
/// carries them out): `POST /admin/firmware/update`, `POST /admin/diagnostics/get`, `GET /admin/ocpp/operations`;
/// and the chargers' local authorization lists (`LocalListService`): `GET /admin/ocpp/local-lists`.
struct OCPPOperationsController {
    let store: OCPPOperationStore
    let localLists: LocalListStore
    let tokens: TokenService

    func addRoutes(to router: Router<AppRequestContext>) {
        let admin = router.authenticated(AdminRequestContext.self, tokens: tokens)
        admin.post("/admin/firmware/update", use: updateFirmware)
        admin.post("/admin/diagnostics/get", use: getDiagnostics)
        admin.get("/admin/ocpp/operations", use: progress)
        admin.get("/admin/ocpp/local-lists", use: localListStatus)
    }

    /// Each OCPP pile's local authorization list (`ocpp_local_list_status`).
    @Sendable func localListStatus(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[LocalListResponse]> {
        .success("获取成功", data: try await localLists.status().map(LocalListResponse.init))
    }

    @Sendable func updateFirmware(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<OperationCreatedResponse> {
        try await create(.firmware, context.input)
    }

    @Sendable func getDiagnostics(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<OperationCreatedResponse> {
        try await create(.diagnostics, context.input)
    }

    /// `piles` (comma-separated pile ids) or `station`; `location`; `retrieve_at` (firmware, ISO-8601),
    /// `retries`, `retry_interval` (s), `max_concurrent` (chargers at once, default 10), `status_timeout`
    /// (s a charger may stay silent before it is asked for its status, default 600).
    private func create(_ kind: OCPPOperationStore.Kind, _ parameters: RequestParameters) async throws -> APIResponse<OperationCreatedResponse> {
        let pileIDs = try parameters.optionalString("piles").map { text throws(APIError) -> [Int] in
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            let ids = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { (1...Int(Int32.max)).contains($0) }
            guard !ids.isEmpty, ids.count == parts.count, ids.count <= 10_000 else { throw .invalidParameter("piles") }
            return ids
        }
        let stationID = try parameters.optionalStation()
        guard (pileIDs == nil) != (stationID == nil) else { throw APIError("piles和station须指定其一") }
        let retrieveAt = try parameters.optionalString("retrieve_at").map { text throws(APIError) -> Date in
            guard kind == .firmware, let date = ISO8601.parse(text) else { throw .invalidParameter("retrieve_at") }
            return date
        }
        let operation = OCPPOperationStore.Request(
            kind: kind, location: try parameters.string("location"), retrieveAt: retrieveAt, retries: try parameters.optionalInteger("retries"),
            retryInterval: try parameters.optionalInteger("retry_interval"),
            maxConcurrent: try parameters.optionalInteger("max_concurrent") ?? OCPPOperationStore.defaultMaxConcurrent,
            statusTimeoutSeconds: try parameters.optionalInteger("status_timeout") ?? OCPPOperationStore.defaultStatusTimeoutSeconds)
        if let field = operation.invalidField { throw APIError.invalidParameter(field) }
        do {
            let (id, piles) = try await store.create(operation, pileIDs: pileIDs, stationID: stationID)
            return .success("设置成功", data: OperationCreatedResponse(operation_id: id, piles: piles))
        } catch OCPPOperationStore.CreateError.notOCPP(let piles) {
            throw APIError("不是OCPP充电桩: \(piles.map(String.init).joined(separator: ","))")
        } catch OCPPOperationStore.CreateError.noPiles {
            throw APIError("该充电站没有OCPP充电桩")
        }
    }

    /// `id` (an operation), else the latest (of `kind`, `firmware` or `diagnostics`, when given): per pile.
    @Sendable func progress(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[OperationProgressResponse]> {
        let parameters = context.input
        let rows = try await store.progress(operationID: try parameters.optionalInteger("id").map(Int64.init),
                                            kind: try parameters.optionalChoice("kind", as: OCPPOperationStore.Kind.self))
        return .success("获取成功", data: rows.map(OperationProgressResponse.init))
    }
}

struct OperationCreatedResponse: Encodable, Sendable {
    var operation_id: Int64
    var piles: [Int]
}

/// A row of `GET /admin/ocpp/operations` (`ocpp_operation_progress`); absent values are null.
struct OperationProgressResponse: Encodable, Sendable {
    var operation_id: Int64
    var kind: String
    var location: String
    var pile_id: Int
    var state: String
    var state_since: String
    var sent_at: String?
    var status: String?
    var status_at: String?
    var triggered_at: String?
    var error: String?

    init(_ row: OCPPOperationStore.Progress) {
        operation_id = row.operationID
        kind = row.kind
        location = row.location
        pile_id = row.pileID
        state = row.state
        state_since = ISO8601.format(row.stateSince)
        sent_at = row.sentAt.map { ISO8601.format($0) }
        status = row.status
        status_at = row.statusAt.map { ISO8601.format($0) }
        triggered_at = row.triggeredAt.map { ISO8601.format($0) }
        error = row.error
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey {
            case operation_id, kind, location, pile_id, state, state_since, sent_at, status, status_at, triggered_at, error
        }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(operation_id, forKey: .operation_id)
        try container.encode(kind, forKey: .kind)
        try container.encode(location, forKey: .location)
        try container.encode(pile_id, forKey: .pile_id)
        try container.encode(state, forKey: .state)
        try container.encode(state_since, forKey: .state_since)
        try container.encode(sent_at, forKey: .sent_at)
        try container.encode(status, forKey: .status)
        try container.encode(status_at, forKey: .status_at)
        try container.encode(triggered_at, forKey: .triggered_at)
        try container.encode(error, forKey: .error)
    }
}

/// A row of `GET /admin/ocpp/local-lists`; absent values are null.
struct LocalListResponse: Encodable, Sendable {
    var pile_id: Int
    var supported: Bool?
    var enabled: Bool?
    var list_version: Int
    var tag_count: Int?
    var synced_at: String?
    var current: Bool
    var failure: String?

    init(_ row: LocalListStore.Status) {
        pile_id = row.pileID
        supported = row.supported
        enabled = row.enabled
        list_version = row.listVersion
        tag_count = row.tagCount
        synced_at = row.syncedAt.map { ISO8601.format($0) }
        current = row.current
        failure = row.failure
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case pile_id, supported, enabled, list_version, tag_count, synced_at, current, failure }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(pile_id, forKey: .pile_id)
        try container.encode(supported, forKey: .supported)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(list_version, forKey: .list_version)
        try container.encode(tag_count, forKey: .tag_count)
        try container.encode(synced_at, forKey: .synced_at)
        try container.encode(current, forKey: .current)
        try container.encode(failure, forKey: .failure)
    }
}

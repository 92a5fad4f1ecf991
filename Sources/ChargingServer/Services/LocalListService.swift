import ChargingStore
import Foundation
import Logging
import OCPP16
import PileRouting
import ServiceLifecycle

/// Keeps OCPP chargers' local authorization lists equal to the idTags that may charge
/// (`serve --ocpp-local-list-sync`): after a charger boots, reads its configuration
/// (SupportedFeatureProfiles, LocalAuthListEnabled, LocalAuthListMaxLength, SendLocalListMaxLength) and
/// its GetLocalListVersion; then sends a full list (chunked to SendLocalListMaxLength) when it holds
/// another one than we last sent, and differential updates when tags change, are blocked or expire
/// (ClearCache after a block). Chargers without the profile, or with the list disabled, are left alone.
/// Every call is a command row of the pile, like any other.
struct LocalListService: Service {
    let store: LocalListStore
    let delivery: CommandDelivery
    let interval: Duration
    let callTimeout: Duration
    let logger: Logger
    /// Off: the service waits for the shutdown and does nothing.
    let enabled: Bool

    static let configurationKeys = ["SupportedFeatureProfiles", "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength"]

    func run() async throws {
        guard enabled else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await step()
            } catch {
                logger.debug("local list step failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func step() async throws {
        let reads = try await store.configurationReadsDue()
        await withTaskGroup(of: Void.self) { group in
            for pileID in reads.prefix(OCPPOperationsService.sendsPerStep) {
                group.addTask { await readConfiguration(pileID: pileID) }
            }
        }
        let targets = try await store.syncsDue()
        await withTaskGroup(of: Void.self) { group in
            for target in targets.prefix(OCPPOperationsService.sendsPerStep) {
                group.addTask { await sync(target) }
            }
        }
    }

    /// The answer payload of an OCPP call to the pile, or why there is none.
    private func call<Request: OCPPRequest>(_ request: Request, pileID: Int) async throws -> Result<Request.Response, CallFailure> {
        let result = try await delivery.sendOCPPCall(action: Request.action.rawValue, payload: try JSONValue(encoding: request).jsonText,
                                                     toPile: pileID, timeout: callTimeout)
        guard result.outcome == .written, let text = result.answer,
              let response = try? JSONValue(parsing: text).decode(Request.Response.self)
        else { return .failure(CallFailure(description: "\(Request.action.rawValue): \(result.outcome.rawValue) \(result.answer ?? "")")) }
        return .success(response)
    }

    private struct CallFailure: Error, CustomStringConvertible {
        let description: String
    }

    private func readConfiguration(pileID: Int) async {
        do {
            let configuration = try await call(GetConfigurationRequest(key: Self.configurationKeys), pileID: pileID).get()
            var values: [String: String] = [:]
            for key in configuration.configurationKey ?? [] { values[key.key] = key.value }
            let profiles = (values["SupportedFeatureProfiles"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let supported = profiles.contains("LocalAuthListManagement")
            let enabled = values["LocalAuthListEnabled"]?.lowercased() == "true"
            try await store.recordConfiguration(pileID: pileID, supported: supported, enabled: enabled,
                                                maxLength: values["LocalAuthListMaxLength"].flatMap { Int($0) },
                                                sendMaxLength: values["SendLocalListMaxLength"].flatMap { Int($0) })
            guard supported, enabled else { return }
            let version = try await call(GetLocalListVersionRequest(), pileID: pileID).get()
            try await store.recordChargerVersion(pileID: pileID, version: version.listVersion)
        } catch {
            logger.notice("could not read a charger's local list configuration", metadata: ["pile": "\(pileID)", "error": "\(error)"])
            try? await store.failed(pileID: pileID, reason: "\(error)", fullListDue: false, unsupported: false)
        }
    }

    private func sync(_ target: LocalListStore.Target) async {
        let pileID = target.pileID
        let full = target.syncedRevision == nil
        do {
            let (entries, revision, at) = try await store.entries(sinceRevision: target.syncedRevision, sinceExpiry: target.syncedExpiryAt,
                                                                  limit: full ? target.maxLength : nil)
            let chunkSize = max(1, target.sendMaxLength ?? max(entries.count, 1))
            let chunks = entries.isEmpty ? [[]] : stride(from: 0, to: entries.count, by: chunkSize).map {
                Array(entries[$0..<min($0 + chunkSize, entries.count)])
            }
            var version = target.listVersion
            for (index, chunk) in chunks.enumerated() {
                version += 1
                let update = SendLocalListRequest(listVersion: version, updateType: full && index == 0 ? .full : .differential,
                                                  localAuthorizationList: chunk.map { Self.authorization($0, at: at) })
                let answer = try await call(update, pileID: pileID).get()
                guard answer.status == .accepted else {
                    try await store.failed(pileID: pileID, reason: "SendLocalList \(answer.status.rawValue)",
                                           fullListDue: answer.status != .notSupported, unsupported: answer.status == .notSupported)
                    return
                }
            }
            try await store.synced(pileID: pileID, version: version, revision: revision, at: at, tagCount: full ? entries.count : nil)
            // A card blocked since: the charger may hold it as Accepted in its authorization cache too.
            if !full, entries.contains(where: \.blocked) {
                _ = try? await call(ClearCacheRequest(), pileID: pileID)
            }
            logger.info("local list synced", metadata: ["pile": "\(pileID)", "version": "\(version)", "full": "\(full)",
                                                       "tags": "\(entries.count)"])
        } catch {
            logger.notice("local list not synced", metadata: ["pile": "\(pileID)", "error": "\(error)"])
            try? await store.failed(pileID: pileID, reason: "\(error)", fullListDue: true, unsupported: false)
        }
    }

    /// A tag as the charger keeps it: blocked, expired, or accepted (with its expiry and parent).
    static func authorization(_ entry: LocalListStore.Entry, at now: Date) -> AuthorizationData {
        let status: AuthorizationStatus =
            if entry.blocked { .blocked } else if let expiry = entry.expiresAt, expiry <= now { .expired } else { .accepted }
        return AuthorizationData(idTag: entry.idTag, idTagInfo: IdTagInfo(status: status, expiryDate: entry.expiresAt, parentIdTag: entry.parentIdTag))
    }
}

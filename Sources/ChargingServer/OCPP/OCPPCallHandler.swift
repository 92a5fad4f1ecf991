import ChargingDomain
import ChargingStore
import Foundation
import Logging
import OCPP16
import PileRouting
import Synchronization

/// What an OCPP charger session needs from the instance.
struct OCPPServices: Sendable {
    let store: OCPPStore
    let ownership: PileOwnership
    let lifecycle: PileSocketLifecycle
    let stations: StationService
    let credentials: ChargePointCredentials
    /// How long a CALL to a charger waits for its answer.
    let callTimeout: Duration
    /// The Heartbeat interval BootNotification gives chargers.
    let heartbeatInterval: Duration
    /// The DataTransfer vendorId we answer for; nil answers every DataTransfer UnknownVendorId.
    let dataTransferVendor: String?
}

/// Applies one CALL of a charger to chargepile's model and builds its answer.
struct OCPPCallHandler {
    let services: OCPPServices
    let pileID: Int
    let epoch: Int64
    let logger: Logger
    /// The connector report this connection last recorded: a repeat changes nothing and costs nothing.
    let lastConnectorReport: LastConnectorReport

    /// How far ahead of our clock a charger's timestamp may be before it is flagged.
    static let clockTolerance: TimeInterval = 300

    func answer(_ call: ChargePointCall, id: String) async throws -> String {
        let store = services.store
        switch call {
        case .bootNotification(let boot):
            try await store.recordBoot(.init(vendor: boot.chargePointVendor, model: boot.chargePointModel,
                                             serial: boot.chargePointSerialNumber ?? boot.chargeBoxSerialNumber,
                                             firmware: boot.firmwareVersion), pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, BootNotificationResponse(
                status: .accepted, currentTime: Date(), interval: max(1, Int(services.heartbeatInterval.inSeconds.rounded()))))

        case .heartbeat:
            return try OCPPOutbound.callResult(id: id, HeartbeatResponse(currentTime: Date()))

        case .statusNotification(let report):
            let key = "\(report.connectorId)|\(report.status.rawValue)|\(report.errorCode.rawValue)|\(report.info ?? "")"
            if lastConnectorReport.isRepeat(key) {
                return try OCPPOutbound.callResult(id: id, StatusNotificationResponse())
            }
            let status = Self.pileStatus(report.status)
            // A charger whose status flaps faster than allowed is acknowledged, but the report is not applied.
            if let refusal = services.stations.statusReportRefusal(pileID: pileID, status: status) {
                logger.notice("StatusNotification ignored", metadata: ["pile": "\(pileID)", "why": "\(refusal)"])
                return try OCPPOutbound.callResult(id: id, StatusNotificationResponse())
            }
            guard let recorded = try await store.recordConnector(pileID: pileID, epoch: epoch, connectorStatus: report.status.rawValue,
                                                                 errorCode: report.errorCode.rawValue, info: report.info, status: status)
            else { return try OCPPOutbound.callResult(id: id, StatusNotificationResponse()) }
            lastConnectorReport.remember(key)
            // Only a new pile status concerns the engine; a new connector detail is just recorded.
            if recorded.changed {
                await services.stations.pileStatusChanged(at: .init(stationID: recorded.stationID, hasCars: recorded.stationHasCars))
            }
            return try OCPPOutbound.callResult(id: id, StatusNotificationResponse())

        case .authorize(let request):
            return try OCPPOutbound.callResult(id: id, AuthorizeResponse(idTagInfo: try await idTagInfo(request.idTag).info))

        case .startTransaction(let start):
            return try await startTransaction(start, id: id)

        case .meterValues(let values):
            if let transactionID = values.transactionId, let energy = values.meterValue.latestEnergyActiveImportRegisterWh {
                try await meterReading(transactionID: transactionID, registerWh: energy)
            }
            return try OCPPOutbound.callResult(id: id, MeterValuesResponse())

        case .stopTransaction(let stop):
            return try await stopTransaction(stop, id: id)

        case .dataTransfer(let transfer):
            let known = services.dataTransferVendor.map { $0 == transfer.vendorId } ?? false
            return try OCPPOutbound.callResult(id: id, DataTransferResponse(status: known ? .unknownMessageId : .unknownVendorId))

        case .diagnosticsStatusNotification(let notification):
            try await store.recordDiagnosticsStatus(notification.status.rawValue, pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, DiagnosticsStatusNotificationResponse())

        case .firmwareStatusNotification(let notification):
            try await store.recordFirmwareStatus(notification.status.rawValue, pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, FirmwareStatusNotificationResponse())
        }
    }

    /// Available…Finishing: the pile works (`on`); Unavailable: `off`; Faulted: `repair` (a fault).
    static func pileStatus(_ status: ChargePointStatus) -> PileStatus {
        switch status {
        case .available, .preparing, .charging, .suspendedEV, .suspendedEVSE, .finishing, .reserved: .on
        case .unavailable: .off
        case .faulted: .repair
        }
    }

    private func idTagInfo(_ idTag: String) async throws -> (info: IdTagInfo, tag: OCPPStore.IdTag?) {
        guard let tag = try await services.store.idTag(idTag) else { return (IdTagInfo(status: .invalid), nil) }
        let status: AuthorizationStatus =
            if tag.blocked { .blocked } else if let expiry = tag.expiresAt, expiry <= Date() { .expired } else { .accepted }
        return (IdTagInfo(status: status, expiryDate: tag.expiresAt, parentIdTag: tag.parentIdTag), tag)
    }

    /// Accepted for the car the station is charging on this pile (the one RemoteStartTransaction named),
    /// or for a card at an idle pile, which the station then takes as a car that plugged in there (a
    /// session started at the charger). A resent StartTransaction gets its original transactionId back.
    private func startTransaction(_ start: StartTransactionRequest, id: String) async throws -> String {
        let store = services.store
        var (info, tag) = try await idTagInfo(start.idTag)
        var request: (stationID: Int, requestID: Int64)?
        if info.status == .accepted, let tag {
            request = try await store.chargingRequest(pileID: pileID, driverID: tag.driverID)
            if request == nil, try await store.hasOpenTransaction(driverID: tag.driverID, otherThanPile: pileID) {
                info.status = .concurrentTx
            }
        }
        var flags: [String] = []
        if start.timestamp.timeIntervalSinceNow > Self.clockTolerance { flags.append("start_in_future") }
        let transactionID = try await store.startTransaction(
            pileID: pileID, connectorID: start.connectorId, idTag: start.idTag, meterStartWh: Int64(start.meterStart),
            chargerTimestamp: start.timestamp, request: info.status == .accepted ? request : nil, flags: flags)
        if info.status == .accepted, request == nil, let tag,
           try await store.transaction(transactionID, pileID: pileID)?.requestID == nil {
            info.status = try await cardSession(transactionID, driverID: tag.driverID)
        }
        if info.status != .accepted { try await store.refuse(transactionID) }
        logger.info("OCPP transaction started", metadata: ["transaction": "\(transactionID)", "status": "\(info.status.rawValue)"])
        return try OCPPOutbound.callResult(id: id, StartTransactionResponse(transactionId: Int(transactionID), idTagInfo: info))
    }

    /// A card at the charger with nothing scheduled for it: the station takes the car if the pile is idle
    /// and the driver has no other request, charging up to the battery; else the card is refused.
    private func cardSession(_ transactionID: Int32, driverID: Int64) async throws -> AuthorizationStatus {
        guard let driver = try await services.store.driver(id: driverID),
              try await !services.store.recentlyRemoteStarted(driver: driver.username, pileID: pileID)
        else { return .invalid }
        do {
            let effects = try await services.stations.apply(.plugIn(
                driver: driver.username, pileID: pileID, requestedKWh: driver.batteryCapacityKWh,
                batteryCapacityKWh: driver.batteryCapacityKWh), pileID: pileID)
            let accepted = effects.lazy.compactMap { effect -> Int64? in
                if case .accepted(let requestID, _) = effect { requestID } else { nil }
            }.first
            guard let requestID = accepted, let stationID = try await services.stations.stationID(ofPile: pileID) else { return .invalid }
            try await services.store.link(transactionID, stationID: stationID, requestID: requestID)
            return .accepted
        } catch let error as APIError where error.message == StationError.alreadyHasActiveRequest.message {
            return .concurrentTx
        } catch is APIError {
            return .invalid
        }
    }

    /// The register reading of a transaction's meter, as the session's energy so far.
    private func meterReading(transactionID: Int, registerWh: Decimal) async throws {
        guard let transactionID = Int32(exactly: transactionID),
              let transaction = try await services.store.transaction(transactionID, pileID: pileID),
              !transaction.stopped, let requestID = transaction.requestID
        else { return }
        let energyKWh = max(0, registerWh - Decimal(transaction.meterStartWh)) / 1000
        // An impossible reading is logged (and recorded by the station service) and ignored; the CALLRESULT still goes out.
        if let refusal = try await services.stations.meterReading(pileID: pileID, requestID: requestID, energyKWh: energyKWh, source: .ocpp) {
            logger.notice("meter reading refused", metadata: ["transaction": "\(transactionID)", "why": "\(refusal)"])
        }
    }

    /// Closes the transaction once. When the charger ended the session itself, the car leaves with
    /// meterStop − meterStart as the session's energy; when the station ended it first (RemoteStop), that
    /// energy replaces the bill's. A late StopTransaction of a session the station has already replaced
    /// with a new one (the same car started again) touches nothing.
    private func stopTransaction(_ stop: StopTransactionRequest, id: String) async throws -> String {
        var flags: [String] = []
        if stop.timestamp.timeIntervalSinceNow > Self.clockTolerance { flags.append("stop_in_future") }
        if let transactionID = Int32(exactly: stop.transactionId) {
            if try await services.store.startedAfter(transactionID, stop.timestamp) { flags.append("stop_before_start") }
            let data = try stop.transactionData.map { try JSONValue(encoding: $0).jsonText }
            if let closed = try await services.store.stopTransaction(
                transactionID, pileID: pileID, meterStopWh: Int64(stop.meterStop), chargerTimestamp: stop.timestamp,
                reason: stop.reason?.rawValue, transactionData: data, flags: flags),
               let requestID = closed.requestID, let stationID = closed.stationID,
               try await !services.store.supersededTransaction(closed.id, requestID: requestID, pileID: pileID) {
                let energyKWh = Decimal(max(0, Int64(stop.meterStop) - closed.meterStartWh)) / 1000
                if !closed.stationStopped {
                    try await services.stations.chargerStopped(pileID: pileID, requestID: requestID, energyKWh: energyKWh)
                }
                try await services.stations.meterAtStop(stationID: stationID, requestID: requestID, pileID: pileID, energyKWh: energyKWh)
            }
        }
        var info: IdTagInfo?
        if let idTag = stop.idTag { info = try await idTagInfo(idTag).info }
        return try OCPPOutbound.callResult(id: id, StopTransactionResponse(idTagInfo: info))
    }
}

/// The last connector report one charger connection recorded.
final class LastConnectorReport: Sendable {
    private let key = Mutex<String?>(nil)

    func isRepeat(_ report: String) -> Bool { key.withLock { $0 == report } }

    func remember(_ report: String) { key.withLock { $0 = report } }
}

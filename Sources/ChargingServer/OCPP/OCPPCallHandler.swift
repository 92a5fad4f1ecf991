import ChargingDomain
import ChargingStore
import Foundation
import Logging
import OCPP16
import PileRouting
import PostgresClient
import Synchronization

/// What an OCPP charger session needs from the instance.
struct OCPPServices: Sendable {
    let store: OCPPStore
    let pileStates: PileStates
    let lifecycle: PileSocketLifecycle
    let stations: StationService
    /// Where late answers to our calls are recorded.
    let commands: PileCommandLog
    let credentials: ChargePointCredentials
    /// How long a CALL to a charger waits for its answer.
    let callTimeout: Duration
    /// How long a charger's CALL may wait for a busy or restarting database before it is answered
    /// with a CALLERROR (chargers commonly give up on a CALL after 30–60 s).
    let busyDeadline: Duration
    /// The Heartbeat interval BootNotification gives chargers.
    let heartbeatInterval: Duration
    /// The DataTransfer vendorId we answer for; nil answers every DataTransfer UnknownVendorId.
    let dataTransferVendor: String?
    /// Whether a BootNotification is Accepted now or answered Pending with a later `interval`.
    let admission: PileAdmission
    /// What a power limit in W is converted with for a charger that takes amperes only.
    var supply = OCPPSupply()
    /// Sends our own calls that follow a charger's (CertificateSigned after SignCertificate) through the command rows.
    let delivery: CommandDelivery
    /// Signs chargers' SignCertificate requests; nil: they are answered Rejected.
    var certificateAuthority: ChargerCertificateAuthority?
    /// The ReserveNow calls sent for the station's queue.
    let reservations: ReservationStore
}

/// The voltage (phase to neutral) and phase count a power limit is converted to amperes with.
public struct OCPPSupply: Sendable, Equatable {
    public var voltage: Double
    public var phases: Int

    public init(voltage: Double = 230, phases: Int = 3) {
        self.voltage = voltage
        self.phases = phases
    }

    /// The current per phase that stays within `watts`, rounded down to 0.1 A (the schema's multiple).
    public func amperes(watts: Int64) -> Double {
        guard voltage > 0, phases > 0 else { return 0 }
        return (Double(max(0, watts)) / (voltage * Double(phases)) * 10).rounded(.down) / 10
    }
}

/// Applies one CALL of a charger to chargepile's model and builds its answer.
struct OCPPCallHandler {
    let services: OCPPServices
    let pileID: Int
    /// The identity the charger connected with: the CN a certificate for it must have.
    let chargePointID: String
    let epoch: Int64
    let logger: Logger
    /// The connector report this connection last recorded: a repeat changes nothing and costs nothing.
    let lastConnectorReport: LastConnectorReport
    /// Our call that must follow this answer, sent by the session once the answer is written.
    let followUp: OCPPFollowUp
    /// Told of a BootNotification recorded for this socket, before it is answered Accepted.
    var booted: @Sendable (OCPPStore.RecordedBoot) -> Void = { _ in }

    /// How far ahead of our clock a charger's timestamp may be before it is flagged.
    static let clockTolerance: TimeInterval = 300

    func answer(_ call: ChargePointCall, id: String) async throws -> String {
        let store = services.store
        switch call {
        case .bootNotification(let boot):
            if let recorded = try await store.recordBoot(.init(vendor: boot.chargePointVendor, model: boot.chargePointModel,
                                                               serial: boot.chargePointSerialNumber ?? boot.chargeBoxSerialNumber,
                                                               firmware: boot.firmwareVersion), pileID: pileID, epoch: epoch) {
                booted(recorded)
            }
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
            let wasReserved = lastConnectorReport.status == .reserved
            // Only a new pile status at a station with cars concerns the engine; a new connector detail is just recorded.
            if try await services.pileStates.recordConnector(pileID: pileID, epoch: epoch, connectorStatus: report.status.rawValue,
                                                             errorCode: report.errorCode.rawValue, info: report.info, status: status) {
                lastConnectorReport.remember(key, status: report.status)
            }
            // Available after Reserved: the charger no longer holds the pile (its reservation expired or was dropped);
            // the car keeps its place in the station's queue and is started there in its turn. Only then: a reconnect
            // storm's Available reports cost no statement more.
            if wasReserved, report.status == .available, try await services.reservations.chargerReleased(pileID: pileID) > 0 {
                logger.info("the charger released its reservation", metadata: ["pile": "\(pileID)"])
            }
            return try OCPPOutbound.callResult(id: id, StatusNotificationResponse())

        case .authorize(let request):
            return try OCPPOutbound.callResult(id: id, AuthorizeResponse(idTagInfo: try await authorization(request.idTag)))

        case .startTransaction(let start):
            return try await startTransaction(start, id: id)

        case .meterValues(let values):
            if let transactionID = values.transactionId.flatMap(Int32.init(exactly:)),
               let energy = values.meterValue.latestEnergyActiveImportRegisterWh {
                try await meterReading(transactionID: transactionID, registerWh: energy)
            }
            return try OCPPOutbound.callResult(id: id, MeterValuesResponse())

        case .stopTransaction(let stop):
            return try await stopTransaction(stop, id: id)

        case .dataTransfer(let transfer):
            let known = services.dataTransferVendor.map { $0 == transfer.vendorId } ?? false
            return try OCPPOutbound.callResult(id: id, DataTransferResponse(status: known ? .unknownMessageId : .unknownVendorId))

        case .diagnosticsStatusNotification(let notification):
            try await store.recordStatusReport(.diagnostics, status: notification.status.rawValue, requestID: nil,
                                               operationState: Self.operationState(notification.status), pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, DiagnosticsStatusNotificationResponse())

        case .firmwareStatusNotification(let notification):
            try await store.recordStatusReport(.firmware, status: notification.status.rawValue, requestID: nil,
                                               operationState: Self.operationState(notification.status), pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, FirmwareStatusNotificationResponse())

        case .signedFirmwareStatusNotification(let notification):
            try await store.recordStatusReport(.signedFirmware, status: notification.status.rawValue, requestID: notification.requestId,
                                               pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, SignedFirmwareStatusNotificationResponse())

        case .logStatusNotification(let notification):
            try await store.recordStatusReport(.log, status: notification.status.rawValue, requestID: notification.requestId,
                                               pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, LogStatusNotificationResponse())

        case .securityEventNotification(let event):
            try await store.recordSecurityEvent(type: event.type, chargerTimestamp: event.timestamp, techInfo: event.techInfo,
                                                pileID: pileID, epoch: epoch)
            logger.notice("charger security event", metadata: ["pile": "\(pileID)", "type": "\(event.type)"])
            return try OCPPOutbound.callResult(id: id, SecurityEventNotificationResponse())

        case .signCertificate(let request):
            return try await signCertificate(request, id: id)
        }
    }

    /// With the operator's CA configured, a CSR in the charger's own name is signed: Accepted, then (once the
    /// answer is written) CertificateSigned with the chain. Without a CA, or for another name, a bad signature
    /// or an unreadable request: Rejected. Every request is kept, with the certificate or the reason.
    private func signCertificate(_ request: SignCertificateRequest, id: String) async throws -> String {
        guard let authority = services.certificateAuthority else {
            try await services.store.recordCertificateRequest(csr: request.csr, answer: GenericStatus.rejected.rawValue,
                                                              refusal: "no CA configured", pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, SignCertificateResponse(status: .rejected))
        }
        let chain: String
        do {
            chain = try authority.chainPEM(try authority.sign(csr: request.csr, chargePointID: chargePointID))
        } catch {
            logger.notice("SignCertificate refused", metadata: ["pile": "\(pileID)", "why": "\(error)"])
            try await services.store.recordCertificateRequest(csr: request.csr, answer: GenericStatus.rejected.rawValue,
                                                              refusal: "\(error)", pileID: pileID, epoch: epoch)
            return try OCPPOutbound.callResult(id: id, SignCertificateResponse(status: .rejected))
        }
        try await services.store.recordCertificateRequest(csr: request.csr, answer: GenericStatus.accepted.rawValue, certificate: chain,
                                                          pileID: pileID, epoch: epoch)
        followUp.set(.certificateSigned(chain: chain))
        return try OCPPOutbound.callResult(id: id, SignCertificateResponse(status: .accepted))
    }

    /// Where a firmware update stands after the charger's report; Idle (nothing under way, e.g. answering a
    /// TriggerMessage) changes nothing.
    static func operationState(_ status: FirmwareStatus) -> OCPPOperationStore.PileState? {
        switch status {
        case .installed: .done
        case .downloadFailed, .installationFailed: .failed
        case .downloading, .downloaded, .installing: .running
        case .idle: nil
        }
    }

    static func operationState(_ status: DiagnosticsStatus) -> OCPPOperationStore.PileState? {
        switch status {
        case .uploaded: .done
        case .uploadFailed: .failed
        case .uploading: .running
        case .idle: nil
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

    private func idTagInfo(_ idTag: String) async throws -> IdTagInfo {
        Self.idTagInfo(try await services.store.idTag(idTag))
    }

    /// What a charger is told of a card: unknown, blocked, expired or accepted.
    private static func idTagInfo(_ tag: OCPPStore.IdTag?) -> IdTagInfo {
        guard let tag else { return IdTagInfo(status: .invalid) }
        let status: AuthorizationStatus =
            if tag.blocked { .blocked } else if let expiry = tag.expiresAt, expiry <= Date() { .expired } else { .accepted }
        return IdTagInfo(status: status, expiryDate: tag.expiresAt, parentIdTag: tag.parentIdTag)
    }

    /// Authorize answers what StartTransaction would answer for the card at this charger now: the same
    /// decision (`startDecision`), taken on a copy of the station as StartTransaction's step would load it
    /// now (the same readings taken in), with the pile's reported status; nothing is written and no lock is taken.
    private func authorization(_ idTag: String) async throws -> IdTagInfo {
        let cardStatement = OCPPStore.cardStatement(idTag, pileID: pileID)
        // The card and the station in one round trip: most cards are accepted, and then both are needed.
        guard let now = try await services.stations.station(ofPile: pileID, readings: .forDecisions(), alongWith: [cardStatement.query])
        else { return IdTagInfo(status: .invalid) }
        let card = try cardStatement.read(now.along[0])
        var info = Self.idTagInfo(card?.tag)
        guard info.status == .accepted else { return info }
        guard let facts = card?.facts else { return IdTagInfo(status: .invalid) }
        var station = now.station
        let clock = now.clock
        if let reported = facts.pileStatus, reported != .offline, station.pileStatus(pileID) != reported {
            _ = try? station.apply(.setPileStatus(pileID: pileID, status: reported), at: clock.now.instant)
        }
        info.status = startDecision(facts, station: &station, clock: clock).status
        return info
    }

    /// How the station takes a card accepted at this charger: the car it is charging here for that driver
    /// (the charger answers a RemoteStartTransaction), or a car that just plugged in, which the engine
    /// takes if the pile is idle and the driver has nothing else going on (ConcurrentTx otherwise).
    private func startDecision(_ facts: OCPPStore.CardFacts, station: inout Station, clock: StationClock)
        -> (status: AuthorizationStatus, requestID: Int64?, effects: [StationEffect]) {
        if let charging = station.charging(atPile: pileID), charging.driver == facts.driver {
            return (.accepted, charging.requestID, [])
        }
        if facts.openElsewhere { return (.concurrentTx, nil, []) }
        if facts.awaitsRemoteStart { return (.invalid, nil, []) }
        do throws(StationError) {
            let effects = try station.apply(.plugIn(driver: facts.driver, pileID: pileID, requestedKWh: facts.batteryCapacityKWh,
                                                    batteryCapacityKWh: facts.batteryCapacityKWh), at: clock.now.instant)
            let requestID = effects.lazy.compactMap { effect -> Int64? in
                if case .accepted(let requestID, _) = effect { requestID } else { nil }
            }.first
            // The charger started this session itself: nothing is sent to it to start it.
            let others = effects.filter { if case .startCharging(pileID, requestID, _, _, _) = $0 { false } else { true } }
            return (requestID == nil ? .invalid : .accepted, requestID, others)
        } catch .alreadyHasActiveRequest {
            return (.concurrentTx, nil, [])
        } catch {
            return (.invalid, nil, [])
        }
    }

    /// One transaction: the charger's transaction row, the station's decision and the session it starts.
    /// A resent StartTransaction gets its original transactionId and answer back.
    private func startTransaction(_ start: StartTransactionRequest, id: String) async throws -> String {
        var info = IdTagInfo(status: .invalid)
        var offline = false
        var flags: [String] = []
        if start.timestamp.timeIntervalSinceNow > Self.clockTolerance { flags.append("start_in_future") }
        let cardStatement = OCPPStore.cardStatement(start.idTag, pileID: pileID)
        let transactionID = try await services.stations.atStation(ofPile: pileID, alongWith: [cardStatement.query]) {
            station, clock, connection, along in
            let card = try cardStatement.read(along[0])
            info = Self.idTagInfo(card?.tag)
            offline = false  // this may run again (StationStore.update): what it reports is set afresh
            // A session the station started itself is taken as such however late its StartTransaction comes;
            // any other stamped well in the past was queued while the charger was offline: it is recorded and
            // billed at its stop, and the engine never hears of it (the car has likely gone).
            let startedByStation = card?.facts.map { station.charging(atPile: pileID)?.driver == $0.driver } ?? false
            // Decided on a copy before the row is written (one statement), and taken only if the row is new:
            // a resent StartTransaction changes nothing.
            var decided = station
            var decision: (status: AuthorizationStatus, requestID: Int64?, effects: [StationEffect]) = (info.status, nil, [])
            let opening: OCPPStore.Opening
            if !startedByStation, Self.isReplayed(start.timestamp, stationNow: clock.now) {
                opening = .offline
            } else {
                if info.status == .accepted {
                    if let facts = card?.facts {
                        decision = startDecision(facts, station: &decided, clock: clock)
                    } else {
                        decision.status = .invalid  // the card's driver is gone
                    }
                }
                opening = if let requestID = decision.requestID, decision.status == .accepted {
                    .link(stationID: try await services.stations.stationID(ofPile: pileID)!, requestID: requestID)
                } else {
                    .refuse
                }
            }
            let opened = try await OCPPStore.openTransaction(
                pileID: pileID, connectorID: start.connectorId, idTag: start.idTag, meterStartWh: Int64(start.meterStart),
                chargerTimestamp: start.timestamp, flags: flags, opening: opening, on: connection)
            guard opened.isNew else {
                offline = opened.offline
                if opened.refused, info.status == .accepted { info.status = .invalid }
                return ([], opened.id)
            }
            if case .offline = opening {
                offline = true
                return ([], opened.id)
            }
            info.status = decision.status
            station = decided
            return (decision.effects, opened.id)
        }
        logger.info("OCPP transaction started", metadata: ["transaction": "\(transactionID)", "status": "\(info.status.rawValue)",
                                                           "offline": "\(offline)"])
        return try OCPPOutbound.callResult(id: id, StartTransactionResponse(transactionId: Int(transactionID), idTagInfo: info))
    }

    /// How long before now a StartTransaction must be stamped to be taken as queued while its charger was
    /// offline. Measured against both the station's clock and the wall clock, so a station on a test clock
    /// (manual, scaled) takes a charger stamping its own time as live.
    static let replayAge: TimeInterval = 300

    static func isReplayed(_ timestamp: Date, stationNow: Date) -> Bool {
        timestamp < stationNow.addingTimeInterval(-replayAge) && timestamp < Date().addingTimeInterval(-replayAge)
    }

    /// The register reading of a transaction's meter, stored as the session's energy so far; the engine
    /// takes it in when it next decides. An impossible reading is logged and recorded, and ignored; the
    /// CALLRESULT still goes out.
    private func meterReading(transactionID: Int32, registerWh: Decimal) async throws {
        guard let stored = try await services.store.recordMeterValue(transactionID: transactionID, pileID: pileID, registerWh: registerWh)
        else { return }
        if let refusal = try await services.stations.settle(stored.verdict, stationID: stored.stationID, pileID: pileID,
                                                             requestID: stored.requestID, energyKWh: stored.energyKWh, source: .ocpp) {
            logger.notice("meter reading refused", metadata: ["transaction": "\(transactionID)", "why": "\(refusal)"])
        }
    }

    /// A session the station billed before the charger's StopTransaction came.
    private typealias StationBill = (stationID: Int, requestID: Int64, energyKWh: Decimal)

    /// Closes the transaction once, in one transaction with the station's step. When the charger ended the
    /// session itself, meterStop − meterStart is the session's last reading and the car leaves at once, so
    /// the bill is the meter's energy to the Wh (when the reading is refused as impossible, the engine's
    /// model bills the session instead). When the station ended it first (RemoteStop), that energy replaces
    /// the bill's. A late StopTransaction of a session the station has already replaced with a new one
    /// (the same car started again) touches nothing. An offline session is billed outside the engine
    /// (`billOffline`); a StopTransaction with an id chargepile never gave finds its transaction
    /// (`transactionToStop`) or, without one, makes it from its transactionData.
    private func stopTransaction(_ stop: StopTransactionRequest, id: String) async throws -> String {
        var flags: [String] = []
        if stop.timestamp.timeIntervalSinceNow > Self.clockTolerance { flags.append("stop_in_future") }
        let data = try stop.transactionData.map { try JSONValue(encoding: $0).jsonText }
        let close = { (id: Int32) in
            OCPPStore.stopTransaction(id, pileID: pileID, meterStopWh: Int64(stop.meterStop), chargerTimestamp: stop.timestamp,
                                      reason: stop.reason?.rawValue, transactionData: data, flags: flags)
        }
        // The common case, a transactionId of ours, is closed in the round trip that takes the station's lock.
        let closeKnown = Int32(exactly: stop.transactionId).map(close)
        let billed = try await services.stations.atStation(ofPile: pileID, alongWith: closeKnown.map { [$0.query] } ?? []) {
            station, clock, connection, along -> ([StationEffect], StationBill?) in
            let closedKnown = try closeKnown.flatMap { try $0.read(along[0]) }
            guard let (closed, superseded) = try await closeTransaction(stop, closedKnown: closedKnown, close: close, on: connection)
            else { return ([], nil) }
            if closed.offline {
                try await billOffline(closed, stop: stop, station: &station, clock: clock, on: connection)
                return ([], nil)
            }
            guard !superseded, let requestID = closed.requestID, let stationID = closed.stationID else { return ([], nil) }
            let energyKWh = Decimal(max(0, Int64(stop.meterStop) - closed.meterStartWh)) / 1000
            guard !closed.stationStopped, let charging = station.charging(atPile: pileID), charging.requestID == requestID
            else { return ([], (stationID, requestID, energyKWh)) }
            var effects: [StationEffect] = []
            do throws(StationError) {
                effects += try station.apply(.meter(pileID: pileID, requestID: requestID, energyKWh: energyKWh), at: clock.now.instant)
            } catch {
                logger.notice("final meter reading refused", metadata: ["pile": "\(pileID)", "why": "\(error.message)"])
                try await connection.execute(StationStore.meterRefusalQuery(
                    stationID: stationID, pileID: pileID, requestID: requestID, energyKWh: energyKWh,
                    reason: StationStore.meterRefusalReason(error), source: .ocppStop, message: error.message))
            }
            // The reading may have completed the session; only a car still charging here leaves as cancelled.
            if station.charging(atPile: pileID)?.requestID == requestID {
                effects += try station.apply(.cancel(driver: charging.driver), at: clock.now.instant)
            }
            // The charger stopped this session itself: nothing is sent to it to stop it, and its car draws no more.
            effects += try station.apply(.chargingStopped(pileID: pileID), at: clock.now.instant)
            return (effects.filter { if case .stopCharging(pileID, requestID, _) = $0 { false } else { true } }, nil)
        }
        // The station ended this session first: its bill takes the charger's meter.
        if let billed {
            try await services.stations.meterAtStop(stationID: billed.stationID, requestID: billed.requestID, pileID: pileID,
                                                    energyKWh: billed.energyKWh)
        }
        var info: IdTagInfo?
        if let idTag = stop.idTag { info = try await idTagInfo(idTag) }
        return try OCPPOutbound.callResult(id: id, StopTransactionResponse(idTagInfo: info))
    }

    /// The transaction a StopTransaction closed: its transactionId's when that is one of this pile's open
    /// ones (`closedKnown`, the common case), else `transactionToStop`'s, closed now. Nil when there is none
    /// to close: the id is one of this pile's closed already (a resend: nothing happens), or nothing fits.
    private func closeTransaction(_ stop: StopTransactionRequest, closedKnown: (OCPPStore.Transaction, superseded: Bool)?,
                                  close: (Int32) -> PostgresStatement<(transaction: OCPPStore.Transaction, superseded: Bool)?>,
                                  on connection: PostgresConnection) async throws -> (OCPPStore.Transaction, superseded: Bool)? {
        if let known = Int32(exactly: stop.transactionId) {
            if let closedKnown { return closedKnown }
            if try await OCPPStore.transactionExists(known, pileID: pileID, on: connection) { return nil }
        }
        guard let found = try await transactionToStop(stop, on: connection) else { return nil }
        return try await connection.run(close(found))
    }

    /// The transaction a StopTransaction with an id that is none of this pile's is about (−1, the
    /// charger's own id, an id beyond int32): the transaction an identical StopTransaction closed before,
    /// or the open one it fits; failing both, an offline transaction made from the stop's transactionData:
    /// its Transaction.Begin reading, else its earliest register reading. Nil when there is nothing to
    /// make one of (no idTag, no reading).
    private func transactionToStop(_ stop: StopTransactionRequest, on connection: PostgresConnection) async throws -> Int32? {
        if let found = try await OCPPStore.transactionForUnknownStop(pileID: pileID, idTag: stop.idTag, meterStopWh: Int64(stop.meterStop),
                                                                     chargerTimestamp: stop.timestamp, on: connection) {
            return found
        }
        guard let idTag = stop.idTag, let begin = Self.transactionBegin(stop.transactionData ?? []) else {
            logger.notice("StopTransaction of an unknown transaction without an idTag or a start reading: not recorded",
                          metadata: ["pile": "\(pileID)", "transaction": "\(stop.transactionId)"])
            return nil
        }
        let created = try await OCPPStore.openTransactionFromStop(pileID: pileID, idTag: idTag, meterStartWh: begin.registerWh,
                                                                  chargerStartedAt: begin.timestamp, flags: ["start_from_transaction_data"],
                                                                  on: connection)
        logger.notice("offline transaction made from a StopTransaction", metadata: ["pile": "\(pileID)", "transaction": "\(created)"])
        return created
    }

    /// Where a session began by its transactionData: the reading marked Transaction.Begin, else the earliest
    /// register reading (to the nearest Wh).
    static func transactionBegin(_ data: [MeterValue]) -> (timestamp: Date, registerWh: Int64)? {
        let readings = data.compactMap { value -> (timestamp: Date, registerWh: Decimal, begin: Bool)? in
            guard let register = value.energyActiveImportRegisterWh else { return nil }
            return (value.timestamp, register, value.sampledValue.contains { $0.context == .transactionBegin })
        }
        guard let begin = readings.first(where: { $0.begin }) ?? readings.min(by: { $0.timestamp < $1.timestamp }),
              begin.registerWh >= 0, begin.registerWh < Decimal(Int64(Int32.max)) * 1000
        else { return nil }
        var rounded = Decimal()
        var registerWh = begin.registerWh
        NSDecimalRound(&rounded, &registerWh, 0, .plain)
        return (begin.timestamp, NSDecimalNumber(decimal: rounded).int64Value)
    }

    /// Bills an offline session once, to its idTag's driver (blocked or expired since or not: the charger let
    /// the car charge), at meterStop − meterStart, over the charger's times when they are plausible and
    /// flagged otherwise (`OfflineSession`). The engine's schedule is untouched: only its request counter
    /// moves. An unknown idTag, or a meter that ran backwards, is flagged and billed to nobody.
    private func billOffline(_ closed: OCPPStore.Transaction, stop: StopTransactionRequest, station: inout Station, clock: StationClock,
                             on connection: PostgresConnection) async throws {
        let now = clock.now.instant
        let session = OfflineSession(chargerStart: closed.chargerStartedAt.instant, chargerStop: stop.timestamp.instant,
                                     meteredWh: Int64(stop.meterStop) - closed.meterStartWh,
                                     powerWatts: station.powerWatts(ofPile: pileID) ?? 1, provisionedAt: closed.pileProvisionedAt?.instant)
        guard let period = session.billedPeriod(receivedStop: now), let energy = session.energy,
              let stationID = try await services.stations.stationID(ofPile: pileID),
              let mode = station.settings.piles.first(where: { $0.id == pileID })?.mode,
              let fees = station.settings.billFees(energyKWh: energy.kWh(), from: period.start, to: period.end)
        else {
            try await OCPPStore.flag(closed.id, session.flags(receivedStop: now).map(\.rawValue), on: connection)
            logger.notice("offline session not billed", metadata: ["transaction": "\(closed.id)"])
            return
        }
        try await OCPPStore.flag(closed.id, period.flags.map(\.rawValue), on: connection)
        let billed = try await StationStore.billOfflineSession(
            transactionID: closed.id, idTag: closed.idTag, stationID: stationID, requestID: station.takeRequestID(), pileID: pileID,
            mode: mode, energyKWh: energy.kWh(), from: Date(instant: period.start), to: Date(instant: period.end), fees: fees, on: connection)
        if !billed { try await OCPPStore.flag(closed.id, ["unknown_id_tag"], on: connection) }
        logger.info("offline session recorded", metadata: ["transaction": "\(closed.id)", "billed": "\(billed)",
                                                           "flags": "\(period.flags.map(\.rawValue))"])
    }
}

/// The last connector report one charger connection recorded.
/// A call of ours that follows a charger's CALL and must reach it after our answer to that CALL.
enum OCPPFollowUpCall: Sendable, Equatable {
    case certificateSigned(chain: String)
}

/// The follow-up of the CALL being answered; a retried handler replaces it rather than adding another.
final class OCPPFollowUp: Sendable {
    private let call = Mutex<OCPPFollowUpCall?>(nil)

    func set(_ next: OCPPFollowUpCall) { call.withLock { $0 = next } }

    func take() -> OCPPFollowUpCall? { call.withLock { value in defer { value = nil }; return value } }
}

final class LastConnectorReport: Sendable {
    private let last = Mutex<(key: String, status: ChargePointStatus)?>(nil)

    func isRepeat(_ report: String) -> Bool { last.withLock { $0?.key == report } }

    func remember(_ report: String, status: ChargePointStatus) { last.withLock { $0 = (report, status) } }

    /// The status of the last report recorded on this connection.
    var status: ChargePointStatus? { last.withLock { $0?.status } }
}

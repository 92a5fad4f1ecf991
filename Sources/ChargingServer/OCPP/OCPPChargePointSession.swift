import ChargingDomain
import ChargingStore
import Foundation
import Logging
import OCPP16
import PileRouting
import PostgresClient
import Synchronization

/// One OCPP 1.6J charger's socket: `OCPPSessionStateMachine` decides (one CALL in flight each
/// way, timeouts), this shell performs, and the charger's CALLs are mapped onto chargepile's
/// model through the same stores and station engine as our own piles.
final class OCPPChargePointSession: PileSession {
    let chargePointID: String
    private let services: OCPPServices
    private let state: Mutex<State>
    private let lastConnectorReport = LastConnectorReport()
    private let followUp = OCPPFollowUp()

    private struct State {
        var machine: OCPPSessionStateMachine
        /// Our calls waiting for their outcome, by call id.
        var waiting: [String: CheckedContinuation<OCPPSessionStateMachine.CallOutcome, Never>] = [:]
        /// The `pile_commands` row of each of our calls under way, by call id.
        var commands: [String: Int64] = [:]
        /// The rows of the calls that timed out lately, for an answer that may still come (as many as the machine remembers).
        var timedOutCommands: [(callID: String, commandID: Int64)] = []
        /// How its charging profiles must be sent, once read on this connection.
        var smartCharging: ChargerSmartCharging?
        /// The read after its last boot, which a profile waits for rather than asking again.
        var smartChargingRead: Task<ChargerSmartCharging?, Never>?
        /// A BootNotification was answered Accepted: what to do once the answer is written.
        var boot: OCPPStore.RecordedBoot?
        /// Its last BootNotification was answered Pending: until one is Accepted it may send nothing else.
        var bootPending = false
    }

    init(chargePointID: String, services: OCPPServices) {
        self.chargePointID = chargePointID
        self.services = services
        self.state = Mutex(State(machine: OCPPSessionStateMachine(configuration: .init(callTimeout: services.callTimeout))))
    }

    // MARK: PileSession

    func opened(_ connection: PileConnection) async {
        _ = await services.lifecycle.open(connection, protocol: .ocpp16)
    }

    func closed(_ connection: PileConnection) async {
        perform(state.withLock { $0.machine.closed() }, on: connection)
        await services.lifecycle.close(connection)
    }

    func received(_ text: String, on connection: PileConnection) async {
        switch OCPPInbound.parse(text) {
        case .failure(let failure):
            connection.logger.notice("refused an OCPP message", metadata: ["code": "\(failure.code.rawValue)", "why": "\(failure.description)"])
            if let reply = failure.reply { connection.send(reply) }
        case .success(let message):
            var action = state.withLock { $0.machine.received(message, now: .now) }
            if case .lateAnswer(let call, let outcome) = action {
                await recordLateAnswer(call, outcome, on: connection)
                return
            }
            // A handled CALL is answered before the next one waiting behind it is handed over.
            while case .handle(let id, let call) = action {
                connection.send(await answer(call, id: id, on: connection))
                if let next = followUp.take() { sendFollowUp(next, on: connection) }
                action = state.withLock { $0.machine.answered(id: id) }
                if let boot = state.withLock({ state in defer { state.boot = nil }; return state.boot }) {
                    booted(boot, on: connection)
                }
            }
            perform(action, on: connection)
        }
    }

    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome {
        do {
            switch instruction {
            case .setStatus(let status, _):
                // `offline` is the socket closing (after the row is recorded), nothing to say to the charger.
                guard status != .offline else { return .delivered(answer: nil) }
                let type: AvailabilityType = status == .on ? .operative : .inoperative
                return try await call(ChangeAvailabilityRequest(connectorId: 0, type: type), as: command, on: connection) { response in
                    response.status == .rejected ? .rejected(answer: Self.json(response)) : .delivered(answer: Self.json(response))
                }
            case .startCharging(let requestID, let driver, _, _):
                // A card session the charger started itself needs no remote start.
                if try await services.store.hasRunningTransaction(requestID: requestID, driver: driver, pileID: connection.pileID) {
                    return .delivered(answer: nil)
                }
                guard let idTag = try await services.store.idTag(ofDriver: driver) else { return .failed("the driver has no idTag") }
                try await services.reservations.consumed(pileID: connection.pileID, requestID: requestID)
                return try await call(RemoteStartTransactionRequest(idTag: idTag, connectorId: 1), as: command, on: connection) { response in
                    response.status == .accepted ? .delivered(answer: Self.json(response)) : .rejected(answer: Self.json(response))
                }
            case .stopCharging(let requestID, _, _):
                guard let transactionID = try await services.store.openTransaction(requestID: requestID, pileID: connection.pileID) else {
                    return .failed("no open transaction for this request")
                }
                try await services.store.remoteStopRequested(transactionID)
                return try await call(RemoteStopTransactionRequest(transactionId: Int(transactionID)), as: command, on: connection) { response in
                    response.status == .accepted ? .delivered(answer: Self.json(response)) : .rejected(answer: Self.json(response))
                }
            case .setPower(let watts, _):
                guard let smartCharging = await smartCharging(as: command, on: connection) else {
                    return .failed("no answer to GetConfiguration by the command's deadline")
                }
                guard smartCharging.hasRoomForProfile else {
                    return .rejected(answer: JSONValue.object([
                        ChargerSmartCharging.maxProfilesKey: .number(String(smartCharging.maxProfilesInstalled ?? 0)),
                    ]).jsonText)
                }
                let profile = smartCharging.powerLimitProfile(watts: watts, pileID: connection.pileID, supply: services.supply)
                return try await call(profile, as: command, on: connection) { response in
                    response.status == .accepted ? .delivered(answer: Self.json(response)) : .rejected(answer: Self.json(response))
                }
            case .reserve(let requestID, let driver, let expiresAt):
                return try await reserve(requestID: requestID, driver: driver, until: expiresAt, as: command, on: connection)
            case .cancelReservation(let requestID):
                guard let reservationID = try await services.reservations.heldChargerReservation(pileID: connection.pileID, requestID: requestID)
                else { return .delivered(answer: nil) }  // the charger holds none for this car
                let outcome = try await call(CancelReservationRequest(reservationId: Int(reservationID)), as: command, on: connection) { response in
                    response.status == .accepted ? .delivered(answer: Self.json(response)) : .rejected(answer: Self.json(response))
                }
                // Rejected: the charger had dropped it already. Unanswered: it expires there by itself.
                try await services.reservations.recordCancel(id: reservationID, answer: Self.answerText(outcome))
                return outcome
            case .ocppCall(let actionName, let payloadText):
                guard let action = OCPPAction(rawValue: actionName), action.isSentByCentralSystem else {
                    return .failed("not an OCPP 1.6 action a central system sends: \(actionName)")
                }
                let payload = try JSONValue(parsing: payloadText)
                try action.validateRequest(payload)
                let sent = await send(action, payload: payload, as: command, on: connection)
                // The operator hears that the charger answered, and what was wrong with its answer.
                if case .invalidResult(let error) = sent {
                    return .rejected(answer: JSONValue.object(["invalidAnswer": .string(error.description)]).jsonText)
                }
                return outcome(of: sent) { .delivered(answer: $0.jsonText) }
            }
        } catch {
            return .failed("\(error)")
        }
    }

    // MARK: Our calls

    /// ReserveNow for the driver's idTag on connector 1, as a new `ocpp_reservations` row whose id is the
    /// reservationId. Any answer but Accepted (Occupied while another car charges, Faulted, Rejected, Unavailable)
    /// leaves the car's place to the station's queue: it is started there in its turn.
    private func reserve(requestID: Int64, driver: String, until expiresAt: Date, as command: CommandTicket,
                         on connection: PileConnection) async throws -> DeliveryOutcome {
        guard let idTag = try await services.store.idTag(ofDriver: driver) else { return .failed("the driver has no idTag") }
        let reservationID = try await services.reservations.openChargerReservation(
            pileID: connection.pileID, requestID: requestID, driver: driver, idTag: idTag, expiresAt: expiresAt)
        var state = "failed"
        let request = ReserveNowRequest(connectorId: 1, expiryDate: expiresAt, idTag: idTag, reservationId: Int(reservationID))
        let outcome = try await call(request, as: command, on: connection) { response in
            state = response.status.rawValue.lowercased()
            return response.status == .accepted ? .delivered(answer: Self.json(response)) : .rejected(answer: Self.json(response))
        }
        if case .rejected = outcome, state == "failed" { state = "rejected" }  // a CALLERROR (NotSupported: no Reservation profile)
        try await services.reservations.recordReservationAnswer(id: reservationID, state: state, answer: Self.answerText(outcome))
        if state != "accepted" {
            connection.logger.info("the charger did not take the reservation; the queue keeps the car's place",
                                   metadata: ["request": "\(requestID)", "answer": "\(Self.answerText(outcome) ?? "none")"])
        }
        return outcome
    }

    private static func answerText(_ outcome: DeliveryOutcome) -> String? {
        switch outcome {
        case .delivered(let answer): answer
        case .rejected(let answer): answer
        case .failed(let why): why
        case .unsupported: nil
        }
    }

    /// Sends a typed CALL and maps its CALLRESULT with `accepted`; errors and timeouts fail it.
    private func call<Request: OCPPRequest>(
        _ request: Request, as command: CommandTicket, on connection: PileConnection, _ accepted: (Request.Response) -> DeliveryOutcome
    ) async throws -> DeliveryOutcome {
        outcome(of: await send(Request.action, payload: try JSONValue(encoding: request), as: command, on: connection)) { payload in
            guard let response = try? payload.decode(Request.Response.self) else { return .failed("unreadable answer") }
            return accepted(response)
        }
    }

    private func outcome(of outcome: OCPPSessionStateMachine.CallOutcome, _ result: (JSONValue) -> DeliveryOutcome) -> DeliveryOutcome {
        switch outcome {
        case .result(let payload): result(payload)
        case .invalidResult(let error): .failed("invalid answer: \(error.description)")
        case .error(let error):
            .rejected(answer: JSONValue.object([
                "errorCode": .string(error.rawCode), "errorDescription": .string(error.description), "errorDetails": error.details,
            ]).jsonText)
        case .timedOut: .failed("no answer by the command's deadline")
        case .connectionClosed: .failed("the connection closed")
        }
    }

    /// Sends a CALL for a command row; it times out at the row's deadline. Without a row (the session's own
    /// reads), at `deadline`, else at the call timeout.
    private func send(_ action: OCPPAction, payload: JSONValue, as command: CommandTicket?, deadline: ContinuousClock.Instant? = nil,
                      on connection: PileConnection) async -> OCPPSessionStateMachine.CallOutcome {
        let id = UUID().uuidString.lowercased()
        return await withCheckedContinuation { continuation in
            let next = state.withLock { state in
                state.waiting[id] = continuation
                state.commands[id] = command?.id
                return state.machine.enqueueCall(action, payload: payload, callID: id, now: .now, deadline: command?.deadline ?? deadline)
            }
            perform(next, on: connection)
        }
    }

    /// Performs what the machine decided; runs on any task, never waits for the charger.
    private func perform(_ action: OCPPSessionStateMachine.Action, on connection: PileConnection) {
        switch action {
        case .none, .handle:
            break  // `.handle` only comes from `received`, which answers it there
        case .send(let frame):
            sendAndWatch(frame, on: connection)
        case .complete(let call, let outcome, let next):
            state.withLock { state in
                if let commandID = state.commands.removeValue(forKey: call.id), outcome == .timedOut {
                    state.timedOutCommands = (state.timedOutCommands + [(call.id, commandID)]).suffix(OCPPSessionStateMachine.rememberedTimeouts)
                }
                return state.waiting.removeValue(forKey: call.id)
            }?.resume(returning: outcome)
            if let next { sendAndWatch(next, on: connection) }
        case .dropUnexpected(let id):
            connection.logger.notice("dropped an OCPP answer to no call of ours", metadata: ["id": "\(id)"])
        case .lateAnswer:
            break  // `received` records it
        case .failAll(let calls):
            for call in calls {
                state.withLock { $0.waiting.removeValue(forKey: call.id) }?.resume(returning: .connectionClosed)
            }
        }
    }

    /// Writes a CALL and wakes the machine at its deadline, so an unanswered call times out.
    private func sendAndWatch(_ frame: String, on connection: PileConnection) {
        let deadline = state.withLock { $0.machine.nextDeadline } ?? .now + services.callTimeout
        Task {
            _ = await connection.write(frame)
            try? await Task.sleep(until: deadline)
            perform(state.withLock { $0.machine.tick(now: .now) }, on: connection)
        }
    }

    /// The charger answered one of our calls after its deadline: the answer goes on the command's row.
    private func recordLateAnswer(_ call: OCPPSessionStateMachine.OutgoingCall, _ outcome: OCPPSessionStateMachine.CallOutcome,
                                  on connection: PileConnection) async {
        let commandID = state.withLock { state -> Int64? in
            guard let index = state.timedOutCommands.firstIndex(where: { $0.callID == call.id }) else { return nil }
            return state.timedOutCommands.remove(at: index).commandID
        }
        guard let commandID else { return }
        let answer: JSONValue = switch outcome {
        case .result(let payload): payload
        case .error(let error): .object(["errorCode": .string(error.rawCode), "errorDescription": .string(error.description)])
        case .invalidResult(let error): .object(["invalid": .string(error.description)])
        case .timedOut, .connectionClosed: .null
        }
        connection.logger.notice("late OCPP answer recorded", metadata: ["action": "\(call.action.rawValue)", "command": "\(commandID)"])
        do {
            try await services.commands.recordLateAnswer(commandID: commandID, pileID: connection.pileID, answer: answer.jsonText)
        } catch {
            connection.logger.warning("late OCPP answer not recorded", metadata: ["command": "\(commandID)", "error": "\(error)"])
        }
    }

    /// How this charger takes charging profiles: read after its boot (waited for when under way), else (a
    /// connection without a BootNotification, a read after boot that got no answer) before its first profile
    /// with the command's deadline, and kept for the connection; nil when it did not answer.
    private func smartCharging(as command: CommandTicket, on connection: PileConnection) async -> ChargerSmartCharging? {
        let (known, afterBoot) = state.withLock { ($0.smartCharging, $0.smartChargingRead) }
        if let known { return known }
        if let afterBoot, let read = await afterBoot.value { return read }
        return await readSmartCharging(as: command, on: connection)
    }

    /// How long the read after a boot may take: as long as a power limit's command.
    static let configurationReadTimeout: Duration = .seconds(10)

    private func readSmartCharging(as command: CommandTicket?, on connection: PileConnection) async -> ChargerSmartCharging? {
        guard let payload = try? JSONValue(encoding: GetConfigurationRequest(key: ChargerSmartCharging.keys)) else { return .unknown }
        let configuration: ChargerSmartCharging
        switch await send(.getConfiguration, payload: payload, as: command, deadline: .now + Self.configurationReadTimeout, on: connection) {
        case .result(let answer):
            configuration = ChargerSmartCharging((try? answer.decode(GetConfigurationResponse.self))?.configurationKey ?? [])
        case .error, .invalidResult:
            configuration = .unknown  // it cannot say: its answer to the profile will
        case .timedOut, .connectionClosed:
            return nil
        }
        state.withLock { $0.smartCharging = configuration }
        connection.logger.debug("OCPP smart charging configuration", metadata: [
            "unit": "\(configuration.unit.rawValue)", "maxStackLevel": "\(configuration.maxStackLevel.map(String.init) ?? "-")",
            "maxProfiles": "\(configuration.maxProfilesInstalled.map(String.init) ?? "-")",
        ])
        return configuration
    }

    /// After a BootNotification is answered Accepted, at a station with a power limit: the charger's smart
    /// charging configuration is read again (a reboot may have changed it), and a charger the engine holds to a
    /// limit is taken to have lost it (a reboot may clear its profiles): it counts at full power and is sent its
    /// share anew. Elsewhere nothing is asked; a limit set later reads the configuration before its first profile.
    private func booted(_ boot: OCPPStore.RecordedBoot, on connection: PileConnection) {
        guard boot.stationHasPowerLimit || boot.holdsPowerLimit else {
            state.withLock { $0.smartCharging = nil; $0.smartChargingRead = nil }
            return
        }
        // In place before anything else runs on this socket, so that a profile waits for this read.
        state.withLock { $0.smartCharging = nil }
        let read = Task { await self.readSmartCharging(as: nil, on: connection) }
        state.withLock { $0.smartChargingRead = read }
        guard boot.holdsPowerLimit else { return }
        Task {
            _ = await read.value
            do {
                _ = try await services.stations.apply(.chargerRestarted(pileID: connection.pileID), pileID: connection.pileID)
            } catch {
                connection.logger.warning("a rebooted charger's power limit was not sent again", metadata: ["error": "\(error)"])
            }
        }
    }

    private static func json(_ payload: some Encodable) -> String {
        (try? JSONValue(encoding: payload).jsonText) ?? "{}"
    }

    /// Our call after an answer, through a command row like an operator's (its answer is kept there), so it is
    /// queued behind the calls already waiting and leaves only after the answer it follows was written.
    private func sendFollowUp(_ call: OCPPFollowUpCall, on connection: PileConnection) {
        let pileID = connection.pileID
        let logger = connection.logger
        let services = services
        Task {
            do {
                switch call {
                case .certificateSigned(let chain):
                    let payload = try JSONValue(encoding: CertificateSignedRequest(certificateChain: chain))
                    let result = try await services.delivery.sendOCPPCall(action: OCPPAction.certificateSigned.rawValue, payload: payload.jsonText,
                                                                          toPile: pileID, timeout: services.callTimeout)
                    logger.notice("CertificateSigned sent", metadata: ["pile": "\(pileID)", "outcome": "\(result.outcome)",
                                                                       "answer": "\(result.answer ?? "none")"])
                }
            } catch {
                logger.warning("CertificateSigned not sent", metadata: ["pile": "\(pileID)", "error": "\(error)"])
            }
        }
    }

    // MARK: The charger's calls

    /// A BootNotification over the instance's admission rate is answered Pending with the seconds to wait,
    /// without touching the database. While Pending, OCPP 1.6 §4.2 allows the charger no other request:
    /// one gets a CALLERROR SecurityError (as OCPP 2.0.1 B02.FR.09 prescribes). A charger that never booted on
    /// this connection (a reconnect without a reboot) is not held to it.
    private func admissionAnswer(_ call: ChargePointCall, id: String) -> String? {
        guard case .bootNotification = call else {
            guard state.withLock({ $0.bootPending }) else { return nil }
            return OCPPOutbound.callError(id: id, code: .securityError,
                                          description: "BootNotification was answered Pending: boot again after its interval")
        }
        switch services.admission.admit() {
        case .admitted:
            state.withLock { $0.bootPending = false }
            return nil
        case .retry(let seconds):
            state.withLock { $0.bootPending = true }
            return try? OCPPOutbound.callResult(id: id, BootNotificationResponse(status: .pending, currentTime: Date(), interval: seconds))
        }
    }

    /// The CALLRESULT (or CALLERROR) for one of the charger's CALLs, once what it changed is committed.
    /// A busy or restarting database is waited for, not answered: the call runs again (every handler is
    /// idempotent) until `busyDeadline`, while this socket's next frames wait unread behind it.
    private func answer(_ call: ChargePointCall, id: String, on connection: PileConnection) async -> String {
        guard let epoch = connection.epoch else {
            return OCPPOutbound.callError(id: id, code: .genericError, description: "the connection is not established")
        }
        if let early = admissionAnswer(call, id: id) { return early }
        let handler = OCPPCallHandler(services: services, pileID: connection.pileID, chargePointID: chargePointID, epoch: epoch, logger: connection.logger,
                                      lastConnectorReport: lastConnectorReport, followUp: followUp,
                                      booted: { [self] boot in state.withLock { $0.boot = boot } })
        let deadline = ContinuousClock.now + services.busyDeadline
        var pause = Duration.milliseconds(50)
        while true {
            do {
                return try await handler.answer(call, id: id)
            } catch let error as PostgresError where error.isTransient && ContinuousClock.now + pause < deadline {
                connection.logger.debug("OCPP call waits for the database", metadata: ["action": "\(call.action.rawValue)", "error": "\(error)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            } catch {
                connection.logger.warning("OCPP call failed", metadata: ["action": "\(call.action.rawValue)", "error": "\(error)"])
                return OCPPOutbound.callError(id: id, code: .internalError, description: "the central system could not process the call")
            }
        }
    }
}

import Foundation
import OCPP16

/// The behaviour of one simulated OCPP 1.6J charge point with one connector, without I/O and without a
/// clock: text frames and time go in, frames to send and events come out.
///
/// - On each connection: BootNotification (vendor "chargepile", model "sim"); once Accepted, the
///   connector's StatusNotification, then Heartbeat every `interval` of the Boot answer. Pending or
///   Rejected: Boot again after `interval`.
/// - Every CSMS call is answered: ChangeAvailability, RemoteStart/StopTransaction, Reset,
///   Get/ChangeConfiguration, ClearCache, UnlockConnector, DataTransfer (UnknownVendorId), TriggerMessage,
///   SetChargingProfile and ClearChargingProfile (Smart Charging, one limit: see `powerLimitW`; lost at a Reset).
/// - A transaction: StartTransaction (meterStart = the energy register in Wh), StatusNotification
///   Charging, MeterValues `Energy.Active.Import.Register` every `meterInterval` (if any), and on a stop
///   StopTransaction (meterStop) and StatusNotification Available (Unavailable after a scheduled
///   Inoperative). The register advances at `powerKW`, or at the charging profile's lower limit, while a
///   transaction runs.
/// - At most one of its own CALLs in flight (`OCPPSessionStateMachine`): the rest wait in order.
///   StartTransaction and StopTransaction lost with a connection are sent again after the next Boot.
///
/// The machine outlives connections (energy register, availability, transaction); call `connected`
/// when a socket opens and `closed` when it goes. Drive it with `received`, `tick` at `nextWakeup`.
public struct OCPPChargePointMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Configuration: Sendable {
        public var chargePointID: String
        public var vendor: String
        public var model: String
        public var serialNumber: String
        public var firmwareVersion: String
        /// The rate the energy register advances at while a transaction runs.
        public var powerKW: Double
        /// Available from the start ("turned on"); else Unavailable until ChangeAvailability Operative.
        public var startsAvailable: Bool
        /// MeterValues this often while a transaction runs; nil sends none (the server models energy).
        public var meterInterval: Duration?
        /// The heartbeat interval until a Boot answer gives one.
        public var heartbeatInterval: Duration
        /// Wait this long for a CALLRESULT.
        public var callTimeout: Duration
        /// The energy register when the charger is created, in Wh.
        public var initialRegisterWh: Double

        public init(
            chargePointID: String, powerKW: Double, startsAvailable: Bool = false, meterInterval: Duration? = nil,
            vendor: String = "chargepile", model: String = "sim", serialNumber: String? = nil,
            firmwareVersion: String = "chargepile-sim 1.0", heartbeatInterval: Duration = .seconds(300),
            callTimeout: Duration = .seconds(30), initialRegisterWh: Double = 0
        ) {
            self.chargePointID = chargePointID
            self.powerKW = powerKW
            self.startsAvailable = startsAvailable
            self.meterInterval = meterInterval
            self.vendor = vendor
            self.model = model
            self.serialNumber = serialNumber ?? "SIM-\(chargePointID)"
            self.firmwareVersion = firmwareVersion
            self.heartbeatInterval = heartbeatInterval
            self.callTimeout = callTimeout
            self.initialRegisterWh = initialRegisterWh
        }
    }

    public enum Output: Sendable, Equatable {
        /// Send this text frame.
        case send(String)
        case event(OCPPChargePointEvent)
        /// Reset: close the socket and connect (and boot) again at once.
        case reboot(ResetType)
    }

    /// The transaction on connector 1.
    public struct Transaction: Sendable, Equatable {
        public var idTag: String
        public var meterStartWh: Int
        /// nil until StartTransaction is answered.
        public var transactionID: Int?
        public var startedAt: Date
    }

    public let configuration: Configuration
    /// The connector's status as last notified (or to be notified).
    public private(set) var status: ChargePointStatus
    public private(set) var transaction: Transaction?
    /// Whether the connection is up and BootNotification was Accepted.
    public private(set) var isRegistered = false
    public private(set) var heartbeatInterval: Duration
    public private(set) var meterInterval: Duration?
    /// The limit of the last charging profile accepted (its first period, in W; amperes at 230 V on the
    /// profile's phases, 3 if it names none), nil while none holds. The register follows it.
    public private(set) var powerLimitW: Double?

    private let epoch: (instant: Instant, date: Date)
    private var session: OCPPSessionStateMachine
    private var isConnected = false
    private var isOperative: Bool
    /// ChangeAvailability Inoperative answered Scheduled: applied when the transaction ends.
    private var inoperativeScheduled = false
    /// The register in Wh up to `energySince` (nil while no energy flows).
    private var registerWh: Double
    private var energySince: Instant?
    private var nextHeartbeat: Instant?
    private var nextMeter: Instant?
    private var nextBoot: Instant?
    private var resetPending: ResetType?
    /// Calls held until BootNotification is Accepted (OCPP 1.6 §4.2: nothing else before).
    private var afterBoot: [(OCPPAction, JSONValue)] = []
    private var callCounter = 0
    private var configurationKeys: [String: (value: String, readonly: Bool)]

    /// - Parameter epoch: an instant and the wall-clock time it corresponds to; timestamps are derived
    ///   from instants through it, so a test controls both with one clock.
    public init(_ configuration: Configuration, epoch: (instant: Instant, date: Date) = (.now, Date())) {
        self.configuration = configuration
        self.epoch = epoch
        self.session = OCPPSessionStateMachine(configuration: .init(callTimeout: configuration.callTimeout))
        self.isOperative = configuration.startsAvailable
        self.status = configuration.startsAvailable ? .available : .unavailable
        self.registerWh = configuration.initialRegisterWh
        self.heartbeatInterval = configuration.heartbeatInterval
        self.meterInterval = configuration.meterInterval
        self.configurationKeys = [
            "HeartbeatInterval": (Self.seconds(configuration.heartbeatInterval), false),
            "MeterValueSampleInterval": (configuration.meterInterval.map(Self.seconds) ?? "0", false),
            "MeterValuesSampledData": (Measurand.energyActiveImportRegister.rawValue, true),
            "NumberOfConnectors": ("1", true),
            "AuthorizeRemoteTxRequests": ("false", true),
            "ConnectionTimeOut": ("60", false),
            "SupportedFeatureProfiles": ("Core,FirmwareManagement,RemoteTrigger,SmartCharging", true),
            "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", true),
            "ChargeProfileMaxStackLevel": ("8", true),
            "MaxChargingProfilesInstalled": ("1", true),
        ]
    }

    /// The energy register in Wh at `now`.
    public func registerWh(at now: Instant) -> Double {
        guard let since = energySince else { return registerWh }
        // Multiplied before dividing, so whole seconds at whole kW give whole Wh (30 kW × 120 s = 1000 Wh, not 999.99…).
        return registerWh + powerKW * 1000 * ((now - since) / .seconds(1)) / 3600
    }

    /// The power the car draws while a transaction runs: the charger's, or the profile's lower limit.
    public var powerKW: Double {
        powerLimitW.map { min(configuration.powerKW, $0 / 1000) } ?? configuration.powerKW
    }

    /// A new limit from `now` on: the energy so far is kept at the old power.
    private mutating func setPowerLimit(_ watts: Double?, now: Instant) {
        registerWh = registerWh(at: now)
        if energySince != nil { energySince = now }
        powerLimitW = watts
    }

    /// The car has drawn `energyWh` since the transaction began, whatever the power and time say: the
    /// register becomes meterStart + `energyWh` and stops there (the transaction's stop is about to come).
    /// For a meter that must agree with a model it cannot observe (the demo's manual station clock).
    public mutating func setSessionEnergy(_ energyWh: Int, now: Instant) {
        guard let current = transaction else { return }
        registerWh = Double(current.meterStartWh + max(0, energyWh))
        energySince = nil
    }

    /// Whether one of its CALLs waits for an answer.
    public var isAwaitingAnswer: Bool {
        session.nextDeadline != nil
    }

    /// When `tick` should next be called: a call's deadline, the next Heartbeat, MeterValues or Boot.
    public var nextWakeup: Instant? {
        [session.nextDeadline, nextHeartbeat, nextMeter, nextBoot].compactMap { $0 }.min()
    }

    // MARK: Connection

    /// A socket opened: BootNotification.
    public mutating func connected(now: Instant) -> [Output] {
        session = OCPPSessionStateMachine(configuration: .init(callTimeout: configuration.callTimeout))
        isConnected = true
        isRegistered = false
        nextBoot = nil
        return [.event(.connected)] + boot(now: now)
    }

    /// The socket closed. StartTransaction and StopTransaction that were not answered wait for the next
    /// Boot; other calls are dropped.
    public mutating func closed() {
        if case .failAll(let calls) = session.closed() {
            let kept = calls.filter { $0.action == .startTransaction || $0.action == .stopTransaction }
            afterBoot = kept.map { ($0.action, $0.payload) } + afterBoot
        }
        isConnected = false
        isRegistered = false
        nextHeartbeat = nil
        nextMeter = nil
        nextBoot = nil
        resetPending = nil
    }

    /// Timers: a call that timed out, Heartbeat, MeterValues, a Boot retry.
    public mutating func tick(now: Instant) -> [Output] {
        guard isConnected else { return [] }
        var outputs = perform(session.tick(now: now), now: now)
        if let due = nextBoot, due <= now {
            nextBoot = nil
            outputs += boot(now: now)
        }
        if let due = nextHeartbeat, due <= now {
            nextHeartbeat = now + heartbeatInterval
            outputs += enqueue(HeartbeatRequest(), now: now)
        }
        if let due = nextMeter, due <= now {
            nextMeter = meterInterval.map { now + $0 }
            outputs += sendMeterValues(context: .samplePeriodic, now: now)
        }
        return outputs
    }

    // MARK: Frames from the central system

    public mutating func received(_ text: String, now: Instant) -> [Output] {
        guard isConnected else { return [] }
        let frame: OCPPFrame
        do {
            frame = try OCPPFrame.parse(text)
        } catch {
            return [.event(.rejectedFrame(text, reply: error.reply))] + (error.reply.map { [.send($0)] } ?? [])
        }
        switch frame {
        case .call(let id, let action, let payload):
            return receivedCall(id: id, actionName: action, payload: payload, text: text, now: now)
        case .callResult(let id, let payload):
            return perform(session.received(.callResult(id: id, payload: payload), now: now), now: now, frame: text)
        case .callError(let id, let code, let description, let details):
            let error = OCPPCallError(rawCode: code, description: description, details: details)
            return perform(session.received(.callError(id: id, error), now: now), now: now, frame: text)
        }
    }

    private mutating func receivedCall(id: String, actionName: String, payload: JSONValue, text: String, now: Instant) -> [Output] {
        func refuse(_ code: OCPPErrorCode, _ description: String) -> [Output] {
            let reply = OCPPOutbound.callError(id: id, code: code, description: description)
            return [.event(.rejectedFrame(text, reply: reply)), .send(reply)]
        }
        guard let action = OCPPAction(rawValue: actionName) else {
            return refuse(.notImplemented, "unknown action \(actionName)")
        }
        guard action.isSentByCentralSystem else {
            return refuse(.notSupported, "\(actionName) is sent by a charge point, not by a central system")
        }
        do {
            try action.validateRequest(payload)
        } catch {
            return refuse(error.code, error.description)
        }
        var outputs: [Output] = [.event(.callReceived(action, payload))]
        do {
            outputs += try answer(id: id, action: action, payload: payload, now: now)
        } catch {
            outputs += refuse(.internalError, "could not handle \(actionName): \(error)")
        }
        if let reset = resetPending, session.nextDeadline == nil {
            resetPending = nil
            // Like many chargers, it keeps no charging profile across a reboot.
            setPowerLimit(nil, now: now)
            outputs += [.event(.rebooting(reset)), .reboot(reset)]
        }
        return outputs
    }

    /// The CALLRESULT, then whatever the call sets off.
    private mutating func answer(id: String, action: OCPPAction, payload: JSONValue, now: Instant) throws -> [Output] {
        func reply(_ response: some OCPPPayload) throws -> Output {
            .send(try OCPPOutbound.callResult(id: id, response))
        }
        switch action {
        case .changeAvailability:
            let request = try payload.decode(ChangeAvailabilityRequest.self)
            guard request.connectorId == 0 || request.connectorId == 1 else {
                return [try reply(ChangeAvailabilityResponse(status: .rejected))]
            }
            switch request.type {
            case .inoperative where transaction != nil:
                inoperativeScheduled = true
                return [try reply(ChangeAvailabilityResponse(status: .scheduled))]
            case .inoperative:
                isOperative = false
                return [try reply(ChangeAvailabilityResponse(status: .accepted))] + setStatus(.unavailable, now: now)
            case .operative:
                isOperative = true
                inoperativeScheduled = false
                let outputs = [try reply(ChangeAvailabilityResponse(status: .accepted))]
                return transaction == nil ? outputs + setStatus(.available, now: now) : outputs
            }

        case .remoteStartTransaction:
            let request = try payload.decode(RemoteStartTransactionRequest.self)
            guard (request.connectorId ?? 1) == 1, isOperative, transaction == nil, status == .available else {
                return [try reply(RemoteStartTransactionResponse(status: .rejected))]
            }
            return [try reply(RemoteStartTransactionResponse(status: .accepted))] + startTransaction(idTag: request.idTag, now: now)

        case .remoteStopTransaction:
            let request = try payload.decode(RemoteStopTransactionRequest.self)
            guard let transactionID = transaction?.transactionID, transactionID == request.transactionId else {
                return [try reply(RemoteStopTransactionResponse(status: .rejected))]
            }
            return [try reply(RemoteStopTransactionResponse(status: .accepted))] + stopTransaction(reason: .remote, now: now)

        case .reset:
            let request = try payload.decode(ResetRequest.self)
            var outputs = [try reply(ResetResponse(status: .accepted))]
            if transaction != nil {
                outputs += stopTransaction(reason: request.type == .soft ? .softReset : .hardReset, now: now)
            }
            resetPending = request.type
            return outputs

        case .getConfiguration:
            let request = try payload.decode(GetConfigurationRequest.self)
            let wanted = request.key ?? configurationKeys.keys.sorted()
            let known = wanted.compactMap { key in
                configurationKeys[key].map { ConfigurationKey(key: key, readonly: $0.readonly, value: $0.value) }
            }
            let unknown = wanted.filter { configurationKeys[$0] == nil }
            return [try reply(GetConfigurationResponse(
                configurationKey: known.isEmpty && request.key != nil ? nil : known,
                unknownKey: unknown.isEmpty ? nil : unknown))]

        case .changeConfiguration:
            let request = try payload.decode(ChangeConfigurationRequest.self)
            return [try reply(ChangeConfigurationResponse(status: changeConfiguration(request, now: now)))]

        case .clearCache:
            return [try reply(ClearCacheResponse(status: .accepted))]

        case .unlockConnector:
            let request = try payload.decode(UnlockConnectorRequest.self)
            guard request.connectorId == 1 else { return [try reply(UnlockConnectorResponse(status: .notSupported))] }
            // OCPP 1.6 §5.17: a transaction on the connector is stopped first.
            let stop = transaction != nil ? stopTransaction(reason: .unlockCommand, now: now) : []
            return [try reply(UnlockConnectorResponse(status: .unlocked))] + stop

        case .dataTransfer:
            return [try reply(DataTransferResponse(status: .unknownVendorId))]

        case .triggerMessage:
            let request = try payload.decode(TriggerMessageRequest.self)
            guard (request.connectorId ?? 0) <= 1 else { return [try reply(TriggerMessageResponse(status: .rejected))] }
            let outputs = [try reply(TriggerMessageResponse(status: .accepted))]
            switch request.requestedMessage {
            case .bootNotification:
                return outputs + boot(now: now)
            case .heartbeat:
                return outputs + enqueue(HeartbeatRequest(), now: now)
            case .statusNotification:
                if request.connectorId == 0 {
                    let whole: ChargePointStatus = isOperative ? .available : .unavailable
                    return outputs + enqueue(StatusNotificationRequest(
                        connectorId: 0, errorCode: .noError, status: whole, timestamp: date(now)), now: now)
                }
                return outputs + enqueue(statusNotification(now: now), now: now)
            case .meterValues:
                return outputs + sendMeterValues(context: .trigger, now: now)
            case .diagnosticsStatusNotification:
                return outputs + enqueue(DiagnosticsStatusNotificationRequest(status: .idle), now: now)
            case .firmwareStatusNotification:
                return outputs + enqueue(FirmwareStatusNotificationRequest(status: .idle), now: now)
            }

        case .authorize, .bootNotification, .diagnosticsStatusNotification, .firmwareStatusNotification, .heartbeat,
             .meterValues, .startTransaction, .statusNotification, .stopTransaction, .logStatusNotification,
             .securityEventNotification, .signCertificate, .signedFirmwareStatusNotification:
            // Refused before: not sent by a central system.
            return []

        case .updateFirmware:
            // The simulated download and installation take no time: each status follows the one before.
            _ = try payload.decode(UpdateFirmwareRequest.self)
            return [try reply(UpdateFirmwareResponse())]
                + [FirmwareStatus.downloading, .downloaded, .installing, .installed].flatMap { status in
                    enqueue(FirmwareStatusNotificationRequest(status: status), now: now)
                }

        case .getDiagnostics:
            _ = try payload.decode(GetDiagnosticsRequest.self)
            return [try reply(GetDiagnosticsResponse(fileName: "diagnostics-\(configuration.chargePointID).log"))]
                + [DiagnosticsStatus.uploading, .uploaded].flatMap { status in
                    enqueue(DiagnosticsStatusNotificationRequest(status: status), now: now)
                }

        case .setChargingProfile:
            let request = try payload.decode(SetChargingProfileRequest.self)
            let profile = request.csChargingProfiles
            let schedule = profile.chargingSchedule
            // One connector, one limit: a profile for another connector, a TxProfile for no running transaction,
            // one above its ChargeProfileMaxStackLevel, or one with no period from its start is refused.
            let maxStackLevel = configurationKeys["ChargeProfileMaxStackLevel"].flatMap { Int($0.value) } ?? 0
            guard request.connectorId == 0 || request.connectorId == 1, profile.stackLevel <= maxStackLevel,
                  profile.chargingProfilePurpose != .txProfile
                    || (request.connectorId == 1 && profile.transactionId != nil && profile.transactionId == transaction?.transactionID),
                  let first = schedule.chargingSchedulePeriod.first(where: { $0.startPeriod == 0 }), first.limit >= 0
            else {
                return [try reply(SetChargingProfileResponse(status: .rejected))]
            }
            let watts = schedule.chargingRateUnit == .watts ? first.limit : first.limit * 230 * Double(first.numberPhases ?? 3)
            setPowerLimit(watts, now: now)
            return [try reply(SetChargingProfileResponse(status: .accepted))]

        case .clearChargingProfile:
            _ = try payload.decode(ClearChargingProfileRequest.self)
            guard powerLimitW != nil else { return [try reply(ClearChargingProfileResponse(status: .unknown))] }
            setPowerLimit(nil, now: now)
            return [try reply(ClearChargingProfileResponse(status: .accepted))]

        case .cancelReservation, .getCompositeSchedule, .getLocalListVersion,
             .reserveNow, .sendLocalList, .certificateSigned, .deleteCertificate,
             .extendedTriggerMessage, .getInstalledCertificateIds, .getLog, .installCertificate, .signedUpdateFirmware:
            // This simulated charger has the Core, Firmware Management, Remote Trigger and (its part of) Smart Charging profiles.
            return [.send(OCPPOutbound.callError(id: id, code: .notSupported, description: "\(action.rawValue) is not supported"))]
        }
    }

    private mutating func changeConfiguration(_ request: ChangeConfigurationRequest, now: Instant) -> ConfigurationStatus {
        guard let current = configurationKeys[request.key] else { return .notSupported }
        guard !current.readonly else { return .rejected }
        switch request.key {
        case "HeartbeatInterval":
            guard let seconds = Int(request.value), seconds > 0 else { return .rejected }
            heartbeatInterval = .seconds(seconds)
            if isRegistered { nextHeartbeat = now + heartbeatInterval }
        case "MeterValueSampleInterval":
            guard let seconds = Int(request.value), seconds >= 0 else { return .rejected }
            meterInterval = seconds > 0 ? .seconds(seconds) : nil
            nextMeter = transaction?.transactionID != nil && isRegistered ? meterInterval.map { now + $0 } : nil
        case "ConnectionTimeOut":
            guard let seconds = Int(request.value), seconds >= 0 else { return .rejected }
        default:
            return .notSupported
        }
        configurationKeys[request.key] = (request.value, false)
        return .accepted
    }

    // MARK: Transactions

    private mutating func startTransaction(idTag: String, now: Instant) -> [Output] {
        let meterStart = Int(registerWh(at: now))
        transaction = Transaction(idTag: idTag, meterStartWh: meterStart, transactionID: nil, startedAt: date(now))
        registerWh = registerWh(at: now)
        energySince = now
        return enqueue(StartTransactionRequest(connectorId: 1, idTag: idTag, meterStart: meterStart, timestamp: date(now)), now: now)
    }

    private mutating func stopTransaction(reason: StopTransactionReason, now: Instant) -> [Output] {
        guard let ending = transaction else { return [] }
        registerWh = registerWh(at: now)
        energySince = nil
        transaction = nil
        nextMeter = nil
        let meterStop = max(Int(registerWh), ending.meterStartWh)
        if inoperativeScheduled {
            inoperativeScheduled = false
            isOperative = false
        }
        var outputs: [Output] = []
        if let transactionID = ending.transactionID {
            outputs.append(.event(.transactionStopped(transactionID: transactionID, meterStopWh: meterStop, reason: reason)))
            outputs += enqueue(StopTransactionRequest(
                transactionId: transactionID, meterStop: meterStop, timestamp: date(now), idTag: ending.idTag, reason: reason), now: now)
        }
        // Without a transactionId (StartTransaction unanswered) there is nothing the central system could match.
        return outputs + setStatus(isOperative ? .available : .unavailable, now: now)
    }

    private mutating func startAnswered(_ request: StartTransactionRequest, _ response: StartTransactionResponse, now: Instant) -> [Output] {
        let accepted = response.idTagInfo.status == .accepted
        var outputs: [Output] = [.event(.transactionStarted(
            transactionID: response.transactionId, idTag: request.idTag, meterStartWh: request.meterStart, accepted: accepted))]
        // Matched by what was sent: the answer may come after a reconnect, to a StartTransaction sent again.
        guard var current = transaction, current.idTag == request.idTag, current.meterStartWh == request.meterStart,
              current.transactionID == nil
        else {
            return outputs
        }
        current.transactionID = response.transactionId
        transaction = current
        guard accepted else {
            return outputs + stopTransaction(reason: .deAuthorized, now: now)
        }
        nextMeter = isRegistered ? meterInterval.map { now + $0 } : nil
        outputs += setStatus(.charging, now: now)
        return outputs
    }

    private mutating func sendMeterValues(context: ReadingContext, now: Instant) -> [Output] {
        let sample = SampledValue(
            value: String(Int(registerWh(at: now))), context: context, measurand: .energyActiveImportRegister,
            location: .outlet, unit: .wh)
        return enqueue(MeterValuesRequest(
            connectorId: 1, meterValue: [MeterValue(timestamp: date(now), sampledValue: [sample])],
            transactionId: transaction?.transactionID), now: now)
    }

    // MARK: Status and boot

    private mutating func setStatus(_ newStatus: ChargePointStatus, now: Instant) -> [Output] {
        guard newStatus != status else { return [] }
        status = newStatus
        return [.event(.statusChanged(newStatus))] + enqueue(statusNotification(now: now), now: now)
    }

    private func statusNotification(now: Instant) -> StatusNotificationRequest {
        StatusNotificationRequest(connectorId: 1, errorCode: .noError, status: status, timestamp: date(now))
    }

    private mutating func boot(now: Instant) -> [Output] {
        let request = BootNotificationRequest(
            chargePointVendor: configuration.vendor, chargePointModel: configuration.model,
            chargePointSerialNumber: configuration.serialNumber, firmwareVersion: configuration.firmwareVersion)
        return send(request, now: now)
    }

    private mutating func bootAnswered(_ response: BootNotificationResponse, now: Instant) -> [Output] {
        var outputs: [Output] = [.event(.booted(response.status, interval: response.interval))]
        guard response.status == .accepted else {
            isRegistered = false
            nextBoot = now + .seconds(max(response.interval, 1))
            return outputs
        }
        if response.interval > 0 {
            heartbeatInterval = .seconds(response.interval)
            configurationKeys["HeartbeatInterval"] = (String(response.interval), false)
        }
        nextHeartbeat = now + heartbeatInterval
        guard !isRegistered else { return outputs }
        isRegistered = true
        // What waited for the Boot (transaction messages lost with a connection or held while offline),
        // as a charger flushes its queue, then where the connector stands.
        let waiting = afterBoot
        afterBoot = []
        for (action, payload) in waiting {
            outputs += perform(session.enqueueCall(action, payload: payload, callID: nextCallID(), now: now), now: now)
        }
        outputs += send(statusNotification(now: now), now: now)
        if transaction?.transactionID != nil { nextMeter = meterInterval.map { now + $0 } }
        return outputs
    }

    // MARK: Our calls

    /// Sends now or after the calls in flight, once registered. Before Boot is Accepted only
    /// StartTransaction and StopTransaction are held for later; the Boot sends the status anyway.
    private mutating func enqueue<Request: OCPPRequest>(_ request: Request, now: Instant) -> [Output] {
        guard isRegistered else {
            if Request.action == .startTransaction || Request.action == .stopTransaction,
               let payload = try? JSONValue(encoding: request)
            {
                afterBoot.append((Request.action, payload))
            }
            return []
        }
        return send(request, now: now)
    }

    /// Queues on the session regardless of registration (BootNotification, the first status).
    private mutating func send<Request: OCPPRequest>(_ request: Request, now: Instant) -> [Output] {
        guard isConnected else { return [] }
        do {
            return perform(try session.enqueueCall(request, callID: nextCallID(), now: now), now: now)
        } catch {
            return [.event(.callFailed(Request.action, "cannot encode: \(error)"))]
        }
    }

    private mutating func nextCallID() -> String {
        callCounter += 1
        return String(callCounter)
    }

    private mutating func perform(_ action: OCPPSessionStateMachine.Action, now: Instant, frame: String? = nil) -> [Output] {
        switch action {
        case .none, .handle, .failAll:
            return []
        case .send(let text):
            return [.send(text)]
        case .dropUnexpected, .lateAnswer:
            return [.event(.rejectedFrame(frame ?? "", reply: nil))]
        case .complete(let call, let outcome, let sendNext):
            var outputs = completed(call, outcome, now: now)
            if let sendNext { outputs.append(.send(sendNext)) }
            if let reset = resetPending, session.nextDeadline == nil {
                resetPending = nil
                outputs += [.event(.rebooting(reset)), .reboot(reset)]
            }
            return outputs
        }
    }

    private mutating func completed(
        _ call: OCPPSessionStateMachine.OutgoingCall, _ outcome: OCPPSessionStateMachine.CallOutcome, now: Instant
    ) -> [Output] {
        let result: JSONValue
        switch outcome {
        case .result(let payload):
            result = payload
        case .invalidResult(let error):
            return failed(call, "invalid CALLRESULT: \(error.description)", now: now)
        case .error(let error):
            return failed(call, "CALLERROR \(error.rawCode): \(error.description)", now: now)
        case .timedOut:
            return failed(call, "no answer within \(configuration.callTimeout)", now: now)
        case .connectionClosed:
            return []
        }
        do {
            switch call.action {
            case .bootNotification:
                return bootAnswered(try result.decode(BootNotificationResponse.self), now: now)
            case .startTransaction:
                return startAnswered(
                    try call.payload.decode(StartTransactionRequest.self), try result.decode(StartTransactionResponse.self), now: now)
            default:
                return []
            }
        } catch {
            return [.event(.callFailed(call.action, "cannot decode the CALLRESULT: \(error)"))]
        }
    }

    private mutating func failed(_ call: OCPPSessionStateMachine.OutgoingCall, _ why: String, now: Instant) -> [Output] {
        var outputs: [Output] = [.event(.callFailed(call.action, why))]
        if call.action == .bootNotification, !isRegistered {
            nextBoot = now + .seconds(10)
        }
        if call.action == .startTransaction, let current = transaction, current.transactionID == nil {
            // No transactionId will come: give the connector back.
            registerWh = registerWh(at: now)
            energySince = nil
            transaction = nil
            outputs += setStatus(isOperative ? .available : .unavailable, now: now)
        }
        return outputs
    }

    // MARK: Time

    /// The wall-clock time of an instant.
    public func date(_ instant: Instant) -> Date {
        epoch.date.addingTimeInterval((instant - epoch.instant) / .seconds(1))
    }

    private static func seconds(_ duration: Duration) -> String {
        String(Int((duration / .seconds(1)).rounded(.up)))
    }
}

/// The message flow of one charge point connection, without I/O and without a clock: every event
/// returns the `Action` to perform, and time is passed in.
///
/// - Our CALLs: at most one in flight (OCPP-J 1.6 §4.1.1); more wait in FIFO order. The in-flight one
///   completes on its CALLRESULT or CALLERROR, or times out (`tick`); then the next is sent.
/// - The charge point's CALLs: handled one at a time, in order. §4.1.1 says a charge point SHOULD NOT
///   send a CALL before its previous one is answered, but some do (a burst of StatusNotifications after
///   boot); rejecting those would lose them, so a CALL arriving while another is being handled waits
///   until `answered(id:)`, as mobilityhouse/ocpp's one-message-at-a-time loop does. Only when
///   `maximumQueuedChargePointCalls` already wait is a CALL answered at once with GenericError.
///
/// Per connection:
///
///     switch OCPPInbound.parse(text) {
///     case .success(let message): perform(machine.received(message, now: .now))
///     case .failure(let failure): log(failure); if let reply = failure.reply { send(reply) }
///     }
///
/// with `enqueueCall` for our requests, `tick` at `nextDeadline`, `answered(id:)` once a `.handle`d
/// CALL is answered, and `closed()` when the socket goes.
public struct OCPPSessionStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Configuration: Sendable {
        public var callTimeout: Duration
        public var maximumQueuedChargePointCalls: Int

        public init(callTimeout: Duration = .seconds(30), maximumQueuedChargePointCalls: Int = 8) {
            self.callTimeout = callTimeout
            self.maximumQueuedChargePointCalls = maximumQueuedChargePointCalls
        }
    }

    /// A CALL from us to the charge point.
    public struct OutgoingCall: Sendable, Equatable {
        public let id: String
        public let action: OCPPAction
        public let payload: JSONValue
        /// When it times out; nil: `callTimeout` after it is sent.
        public let deadline: Instant?

        public init(id: String, action: OCPPAction, payload: JSONValue, deadline: Instant? = nil) {
            self.id = id
            self.action = action
            self.payload = payload
            self.deadline = deadline
        }

        public var frame: String {
            OCPPFrame.call(id: id, action: action.rawValue, payload: payload).text
        }
    }

    public enum CallOutcome: Sendable, Equatable {
        /// The CALLRESULT's payload, valid for the call's action: `payload.decode(Request.Response.self)`.
        case result(JSONValue)
        /// A CALLRESULT whose payload fails the action's response schema.
        case invalidResult(OCPPValidationError)
        case error(OCPPCallError)
        case timedOut
        case connectionClosed
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Send this text frame.
        case send(String)
        /// Handle the charge point's CALL, send its answer, then call `answered(id:)`.
        case handle(id: String, ChargePointCall)
        /// Our call is over; then send `sendNext`, the next queued CALL, when there is one.
        case complete(OutgoingCall, CallOutcome, sendNext: String?)
        /// A CALLRESULT or CALLERROR for no call we know of: log, ignore.
        case dropUnexpected(id: String)
        /// The answer to one of our calls that had already timed out: record it, it is what the charge point did.
        case lateAnswer(OutgoingCall, CallOutcome)
        /// The connection closed: complete each call, in-flight first, with `.connectionClosed`.
        case failAll([OutgoingCall])
    }

    public let configuration: Configuration
    private var inFlight: (call: OutgoingCall, deadline: Instant)?
    private var queuedCalls: [OutgoingCall] = []
    private var handlingChargePointCallID: String?
    private var queuedChargePointCalls: [(id: String, call: ChargePointCall)] = []
    private var isClosed = false
    /// The calls that timed out lately, so that their answers can still be told apart from unknown ones.
    private var timedOut: [OutgoingCall] = []
    public static let rememberedTimeouts = 16

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// When `tick` should next be called; nil when no call is in flight.
    public var nextDeadline: Instant? {
        inFlight?.deadline
    }

    // MARK: Our calls

    /// `callID` must be unique on this connection (the caller generates it, so the machine stays deterministic).
    public mutating func enqueueCall(_ action: OCPPAction, payload: JSONValue, callID: String, now: Instant,
                                     deadline: Instant? = nil) -> Action {
        let call = OutgoingCall(id: callID, action: action, payload: payload, deadline: deadline)
        if isClosed { return .complete(call, .connectionClosed, sendNext: nil) }
        guard inFlight == nil else {
            queuedCalls.append(call)
            return .none
        }
        return .send(start(call, now: now))
    }

    /// A typed request; throws only for a value JSON cannot carry (a NaN charging limit).
    public mutating func enqueueCall<Request: OCPPRequest>(_ request: Request, callID: String, now: Instant) throws -> Action {
        enqueueCall(Request.action, payload: try JSONValue(encoding: request), callID: callID, now: now)
    }

    /// Times out the in-flight call once its deadline has passed.
    public mutating func tick(now: Instant) -> Action {
        guard let (call, deadline) = inFlight, deadline <= now else { return .none }
        timedOut = Array((timedOut + [call]).suffix(Self.rememberedTimeouts))
        return complete(call, .timedOut, now: now)
    }

    public mutating func closed() -> Action {
        isClosed = true
        let calls = (inFlight.map { [$0.call] } ?? []) + queuedCalls
        inFlight = nil
        queuedCalls = []
        handlingChargePointCallID = nil
        queuedChargePointCalls = []
        return .failAll(calls)
    }

    // MARK: Frames from the charge point

    /// A frame `OCPPInbound.parse` accepted.
    public mutating func received(_ message: OCPPInboundMessage, now: Instant) -> Action {
        guard !isClosed else { return .none }
        switch message {
        case .call(let id, let call):
            return receivedCall(id: id, call)
        case .callResult(let id, let payload):
            let outcome: (OutgoingCall) -> CallOutcome = { call in
                do throws(OCPPValidationError) {
                    try call.action.validateResponse(payload)
                    return .result(payload)
                } catch {
                    return .invalidResult(error)
                }
            }
            if let late = lateCall(id) { return .lateAnswer(late, outcome(late)) }
            guard let call = inFlight?.call, call.id == id else { return .dropUnexpected(id: id) }
            return complete(call, outcome(call), now: now)
        case .callError(let id, let error):
            if let late = lateCall(id) { return .lateAnswer(late, .error(error)) }
            guard let call = inFlight?.call, call.id == id else { return .dropUnexpected(id: id) }
            return complete(call, .error(error), now: now)
        }
    }

    /// The charge point's CALL `id` has been answered; hands over the next one waiting, if any.
    public mutating func answered(id: String) -> Action {
        guard !isClosed, handlingChargePointCallID == id else { return .none }
        guard !queuedChargePointCalls.isEmpty else {
            handlingChargePointCallID = nil
            return .none
        }
        let next = queuedChargePointCalls.removeFirst()
        handlingChargePointCallID = next.id
        return .handle(id: next.id, next.call)
    }

    private mutating func receivedCall(id: String, _ call: ChargePointCall) -> Action {
        guard handlingChargePointCallID != nil else {
            handlingChargePointCallID = id
            return .handle(id: id, call)
        }
        guard queuedChargePointCalls.count < configuration.maximumQueuedChargePointCalls else {
            return .send(OCPPOutbound.callError(
                id: id, code: .genericError,
                description: "too many CALLs sent before the previous ones were answered"
            ))
        }
        queuedChargePointCalls.append((id, call))
        return .none
    }

    /// A call that timed out, taken from the list (its answer comes once).
    private mutating func lateCall(_ id: String) -> OutgoingCall? {
        guard let index = timedOut.firstIndex(where: { $0.id == id }) else { return nil }
        return timedOut.remove(at: index)
    }

    private mutating func start(_ call: OutgoingCall, now: Instant) -> String {
        inFlight = (call, call.deadline ?? now + configuration.callTimeout)
        return call.frame
    }

    private mutating func complete(_ call: OutgoingCall, _ outcome: CallOutcome, now: Instant) -> Action {
        inFlight = nil
        let next = queuedCalls.isEmpty ? nil : start(queuedCalls.removeFirst(), now: now)
        return .complete(call, outcome, sendNext: next)
    }
}

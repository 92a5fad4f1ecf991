import Testing
import OCPP16

@Suite struct SessionStateMachineTests {
    private typealias Machine = OCPPSessionStateMachine
    private let t0 = ContinuousClock.now

    private func call(_ id: String, _ action: OCPPAction = .clearCache, _ payload: JSONValue = [:]) -> Machine.OutgoingCall {
        Machine.OutgoingCall(id: id, action: action, payload: payload)
    }

    private func frame(_ id: String, _ action: OCPPAction = .clearCache, _ payload: JSONValue = [:]) -> String {
        call(id, action, payload).frame
    }

    private let accepted: JSONValue = ["status": "Accepted"]

    // MARK: Our calls

    @Test func oneCallInFlightTheRestQueuedInOrder() {
        var machine = Machine()
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0) == .send(#"[2,"a","ClearCache",{}]"#))
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "b", now: t0) == .none)
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "c", now: t0) == .none)

        #expect(machine.received(.callResult(id: "a", payload: accepted), now: t0) == .complete(call("a"), .result(accepted), sendNext: frame("b")))
        #expect(machine.received(.callError(id: "b", OCPPCallError(rawCode: "InternalError", description: "busy")), now: t0)
            == .complete(call("b"), .error(OCPPCallError(rawCode: "InternalError", description: "busy")), sendNext: frame("c")))
        #expect(machine.received(.callResult(id: "c", payload: accepted), now: t0) == .complete(call("c"), .result(accepted), sendNext: nil))
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "d", now: t0) == .send(frame("d")))
    }

    @Test func typedEnqueue() throws {
        var machine = Machine()
        let action = try machine.enqueueCall(RemoteStopTransactionRequest(transactionId: 7), callID: "r1", now: t0)
        #expect(action == .send(#"[2,"r1","RemoteStopTransaction",{"transactionId":7}]"#))
        guard case .complete(_, .result(let payload), _) = machine.received(.callResult(id: "r1", payload: accepted), now: t0) else {
            Issue.record("not completed")
            return
        }
        #expect(try payload.decode(RemoteStopTransactionResponse.self) == RemoteStopTransactionResponse(status: .accepted))
    }

    @Test func unknownOrQueuedIDIsDroppedAndCompletesNothing() {
        var machine = Machine()
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0)
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "b", now: t0)
        #expect(machine.received(.callResult(id: "zzz", payload: accepted), now: t0) == .dropUnexpected(id: "zzz"))
        #expect(machine.received(.callResult(id: "b", payload: accepted), now: t0) == .dropUnexpected(id: "b"))
        #expect(machine.received(.callError(id: "zzz", OCPPCallError(rawCode: "GenericError", description: "")), now: t0) == .dropUnexpected(id: "zzz"))
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: t0) == .complete(call("a"), .result(accepted), sendNext: frame("b")))
    }

    @Test func resultWithNoCallInFlightIsDropped() {
        var machine = Machine()
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: t0) == .dropUnexpected(id: "a"))
    }

    @Test func resultIsCheckedAgainstTheActionsResponseSchema() {
        var machine = Machine()
        _ = machine.enqueueCall(.changeAvailability, payload: ["connectorId": 0, "type": "Inoperative"], callID: "a", now: t0)
        #expect(machine.received(.callResult(id: "a", payload: ["status": "Maybe"]), now: t0) == .complete(
            call("a", .changeAvailability, ["connectorId": 0, "type": "Inoperative"]),
            .invalidResult(OCPPValidationError(
                code: .formationViolation, description: #"status: "Maybe" is not one of Accepted, Rejected, Scheduled"#
            )),
            sendNext: nil
        ))
    }

    @Test func aCallForACommandTimesOutAtTheCommandsDeadlineAndItsLateAnswerIsReported() {
        var machine = Machine()
        let deadline = t0 + .seconds(3)
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0, deadline: deadline)
        #expect(machine.nextDeadline == deadline)
        let timedOut = Machine.OutgoingCall(id: "a", action: .clearCache, payload: [:], deadline: deadline)
        #expect(machine.tick(now: deadline) == .complete(timedOut, .timedOut, sendNext: nil))
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: deadline + .seconds(1)) == .lateAnswer(timedOut, .result(accepted)))
        // Once: a second answer with the same id is unknown.
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: deadline + .seconds(2)) == .dropUnexpected(id: "a"))
    }

    @Test func timeoutCompletesTheCallAndSendsTheNext() {
        var machine = Machine()
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0)
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "b", now: t0 + .seconds(10))
        #expect(machine.nextDeadline == t0 + .seconds(30))
        #expect(machine.tick(now: t0 + .seconds(29)) == .none)
        #expect(machine.tick(now: t0 + .seconds(30)) == .complete(call("a"), .timedOut, sendNext: frame("b")))
        // b was sent at 30 s, so its 30 s run from then.
        #expect(machine.nextDeadline == t0 + .seconds(60))
        #expect(machine.tick(now: t0 + .seconds(59)) == .none)
        #expect(machine.tick(now: t0 + .seconds(61)) == .complete(call("b"), .timedOut, sendNext: nil))
        #expect(machine.nextDeadline == nil)
        #expect(machine.tick(now: t0 + .seconds(600)) == .none)
    }

    @Test func resultAfterTimeoutIsReportedLateAndCompletesNothing() {
        var machine = Machine()
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0)
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "b", now: t0)
        _ = machine.tick(now: t0 + .seconds(31))
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: t0 + .seconds(32)) == .lateAnswer(call("a"), .result(accepted)))
        #expect(machine.received(.callResult(id: "b", payload: accepted), now: t0 + .seconds(33)) == .complete(call("b"), .result(accepted), sendNext: nil))
    }

    @Test func configurableTimeout() {
        var machine = Machine(configuration: .init(callTimeout: .seconds(5)))
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0)
        #expect(machine.tick(now: t0 + .seconds(5)) == .complete(call("a"), .timedOut, sendNext: nil))
    }

    @Test func closeFailsEveryCallInFlightAndQueued() {
        var machine = Machine()
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "a", now: t0)
        _ = machine.enqueueCall(.reset, payload: ["type": "Soft"], callID: "b", now: t0)
        _ = machine.enqueueCall(.clearCache, payload: [:], callID: "c", now: t0)
        #expect(machine.closed() == .failAll([call("a"), call("b", .reset, ["type": "Soft"]), call("c")]))
        #expect(machine.nextDeadline == nil)
        #expect(machine.received(.callResult(id: "a", payload: accepted), now: t0) == .none)
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "d", now: t0) == .complete(call("d"), .connectionClosed, sendNext: nil))
        #expect(machine.tick(now: t0 + .seconds(100)) == .none)
    }

    @Test func closeWithNothingInFlight() {
        var machine = Machine()
        #expect(machine.closed() == .failAll([]))
    }

    // MARK: The charge point's calls

    private let heartbeat = ChargePointCall.heartbeat(HeartbeatRequest())
    private let status = ChargePointCall.statusNotification(StatusNotificationRequest(connectorId: 1, errorCode: .noError, status: .available))

    @Test func chargePointCallsAreHandledOneAtATimeInOrder() {
        var machine = Machine()
        #expect(machine.received(.call(id: "1", heartbeat), now: t0) == .handle(id: "1", heartbeat))
        #expect(machine.received(.call(id: "2", status), now: t0) == .none)
        #expect(machine.received(.call(id: "3", heartbeat), now: t0) == .none)
        #expect(machine.answered(id: "1") == .handle(id: "2", status))
        #expect(machine.answered(id: "2") == .handle(id: "3", heartbeat))
        #expect(machine.answered(id: "3") == .none)
        #expect(machine.received(.call(id: "4", heartbeat), now: t0) == .handle(id: "4", heartbeat))
    }

    @Test func answeringAnotherIDChangesNothing() {
        var machine = Machine()
        _ = machine.received(.call(id: "1", heartbeat), now: t0)
        _ = machine.received(.call(id: "2", status), now: t0)
        #expect(machine.answered(id: "2") == .none)
        #expect(machine.answered(id: "1") == .handle(id: "2", status))
    }

    @Test func tooManyWaitingCallsAreAnsweredWithGenericError() throws {
        var machine = Machine(configuration: .init(maximumQueuedChargePointCalls: 1))
        _ = machine.received(.call(id: "1", heartbeat), now: t0)
        #expect(machine.received(.call(id: "2", heartbeat), now: t0) == .none)
        guard case .send(let text) = machine.received(.call(id: "3", heartbeat), now: t0) else {
            Issue.record("not rejected")
            return
        }
        let reply = try JSONValue(parsing: text)
        guard case .array(let elements) = reply else { return }
        #expect(Array(elements.prefix(3)) == [4, "3", "GenericError"])
        #expect(machine.answered(id: "1") == .handle(id: "2", heartbeat))
    }

    @Test func ourCallsAndTheirsAreIndependent() {
        var machine = Machine()
        #expect(machine.enqueueCall(.clearCache, payload: [:], callID: "ours", now: t0) == .send(frame("ours")))
        #expect(machine.received(.call(id: "theirs", heartbeat), now: t0) == .handle(id: "theirs", heartbeat))
        #expect(machine.received(.callResult(id: "ours", payload: accepted), now: t0) == .complete(call("ours"), .result(accepted), sendNext: nil))
        #expect(machine.answered(id: "theirs") == .none)
    }

    @Test func closingDropsWaitingChargePointCalls() {
        var machine = Machine()
        _ = machine.received(.call(id: "1", heartbeat), now: t0)
        _ = machine.received(.call(id: "2", heartbeat), now: t0)
        _ = machine.closed()
        #expect(machine.answered(id: "1") == .none)
        #expect(machine.received(.call(id: "3", heartbeat), now: t0) == .none)
    }
}

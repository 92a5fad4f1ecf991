import ChargingStore
import Foundation
import Logging
import OCPP16
import PileRouting
import ServiceLifecycle

/// Carries firmware updates and diagnostics uploads out (`ocpp_operations`): every `interval` it sends
/// UpdateFirmware or GetDiagnostics to the next piles each operation's limit lets in, through the piles'
/// command rows like any operator call, and asks chargers whose status has not come for a while with
/// TriggerMessage. Chargers' Firmware/DiagnosticsStatusNotifications move their piles on
/// (`OCPPCallHandler`). Every instance runs it; the operation's row lock makes them take turns.
struct OCPPOperationsService: Service {
    let store: OCPPOperationStore
    let delivery: CommandDelivery
    let interval: Duration
    /// How long a charger has to answer the call.
    let callTimeout: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await step()
            } catch {
                logger.debug("OCPP operations step failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Calls one instance sends per step, over all operations; the next step sends the next ones.
    static let sendsPerStep = 50

    private func step() async throws {
        var assignments: [OCPPOperationStore.Assignment] = []
        for operationID in try await store.operationsWaiting() where assignments.count < Self.sendsPerStep {
            assignments += try await store.claim(operationID: operationID, atMost: Self.sendsPerStep - assignments.count)
        }
        await withTaskGroup(of: Void.self) { group in
            for assignment in assignments {
                group.addTask { await send(assignment) }
            }
            for (pileID, kind) in (try? await store.silentPiles(atMost: Self.sendsPerStep)) ?? [] {
                group.addTask { await askForStatus(pileID: pileID, kind: kind) }
            }
        }
    }

    private func send(_ assignment: OCPPOperationStore.Assignment) async {
        let pileID = assignment.pileID
        do {
            let (action, payload): (OCPPAction, JSONValue) = switch assignment.kind {
            case .firmware:
                (.updateFirmware, try JSONValue(encoding: UpdateFirmwareRequest(
                    location: assignment.location, retrieveDate: assignment.retrieveAt ?? Date(), retries: assignment.retries,
                    retryInterval: assignment.retryInterval)))
            case .diagnostics:
                (.getDiagnostics, try JSONValue(encoding: GetDiagnosticsRequest(
                    location: assignment.location, retries: assignment.retries, retryInterval: assignment.retryInterval)))
            }
            let result = try await delivery.sendOCPPCall(action: action.rawValue, payload: payload.jsonText, toPile: pileID, timeout: callTimeout)
            let (state, error): (OCPPOperationStore.PileState, String?) = switch result.outcome {
            case .written:
                // A charger with no diagnostics to upload answers without a fileName: nothing will follow.
                if assignment.kind == .diagnostics, result.answer.flatMap({ try? JSONValue(parsing: $0).objectValue?["fileName"] }) == nil {
                    (.done, "no diagnostics to upload")
                } else {
                    (.running, nil)
                }
            case .rejected: (.failed, "the charger refused \(action.rawValue)")
            case .offline: (.waiting, nil)
            case .unknownPile: (.failed, "no such pile")
            case .failed, .expired, .pending: (.failed, "no answer to \(action.rawValue)")
            }
            try await store.sent(operationID: assignment.operationID, pileID: pileID, state: state, answer: result.answer, error: error)
            logger.info("OCPP operation sent", metadata: ["operation": "\(assignment.operationID)", "pile": "\(pileID)",
                                                         "action": "\(action.rawValue)", "state": "\(state.rawValue)"])
        } catch {
            logger.notice("OCPP operation not sent", metadata: ["operation": "\(assignment.operationID)", "pile": "\(pileID)",
                                                               "error": "\(error)"])
        }
    }

    private func askForStatus(pileID: Int, kind: OCPPOperationStore.Kind) async {
        let trigger = TriggerMessageRequest(requestedMessage: kind == .firmware ? .firmwareStatusNotification : .diagnosticsStatusNotification)
        do {
            let result = try await delivery.sendOCPPCall(action: OCPPAction.triggerMessage.rawValue, payload: try JSONValue(encoding: trigger).jsonText,
                                                         toPile: pileID, timeout: callTimeout)
            logger.info("asked a silent charger for its status", metadata: ["pile": "\(pileID)", "outcome": "\(result.outcome.rawValue)"])
        } catch {
            logger.notice("could not ask a charger for its status", metadata: ["pile": "\(pileID)", "error": "\(error)"])
        }
    }
}

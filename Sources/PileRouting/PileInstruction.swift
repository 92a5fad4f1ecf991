import ChargingDomain
import Foundation

/// What the station tells a pile, whatever protocol the pile speaks: each pile session turns it
/// into its own wire message (a `set_status` frame, an OCPP ChangeAvailability, …).
public enum PileInstruction: Codable, Sendable, Equatable {
    /// An admin's status command.
    case setStatus(PileStatus, commandID: Int64)
    /// The car at the head of the pile's queue may charge now.
    case startCharging(requestID: Int64, driver: String, queueNumber: String, requestedKWh: Decimal)
    /// Stop charging that car. `confirm`: the station (under a power limit) waits to hear that the charger took it.
    case stopCharging(requestID: Int64, reason: StopReason, confirm: Bool? = nil)
    /// Keep the car at or below this power (the station's power limit shares; the pile's power lifts it).
    /// Delivered means acknowledged by the charger (our `ack`, an accepted charging profile).
    case setPower(watts: Int64, sequence: Int64)
    /// Keep the pile for this car until `expiresAt` (real time), refusing other cards: OCPP ReserveNow. Our own
    /// protocol has no such message: the station holds the car's place in its queue and starts only that car.
    case reserve(requestID: Int64, driver: String, expiresAt: Date)
    /// The pile need no longer be kept for that car: OCPP CancelReservation of the reservation sent for it.
    case cancelReservation(requestID: Int64)
    /// An operator's OCPP call (`POST /admin/ocpp/call`), passed through as given.
    case ocppCall(action: String, payload: String)
}

/// How a pile took an instruction.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Written to the socket (our protocol) or accepted by the charger (OCPP Accepted/Scheduled);
    /// `answer` is the charger's reply as JSON text, when it gave one.
    case delivered(answer: String?)
    /// The charger answered and said no (OCPP Rejected, a CALLERROR); `answer` says how.
    case rejected(answer: String)
    /// Not delivered: no socket at that epoch, the write failed, or no answer in time.
    case failed(String)
    /// The pile's protocol has no such message (an OCPP call to a pile on our own protocol).
    case unsupported
}

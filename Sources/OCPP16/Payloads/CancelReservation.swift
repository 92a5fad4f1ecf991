public struct CancelReservationRequest: OCPPRequest {
    public typealias Response = CancelReservationResponse
    public static let action = OCPPAction.cancelReservation

    public var reservationId: Int

    public init(reservationId: Int) {
        self.reservationId = reservationId
    }
}

public struct CancelReservationResponse: OCPPPayload {
    public var status: CancelReservationStatus

    public init(status: CancelReservationStatus) {
        self.status = status
    }
}

public enum CancelReservationStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}

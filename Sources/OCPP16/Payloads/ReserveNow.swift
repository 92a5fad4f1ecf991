import Foundation

public struct ReserveNowRequest: OCPPRequest {
    public typealias Response = ReserveNowResponse
    public static let action = OCPPAction.reserveNow

    /// 0 reserves the charge point as a whole (any connector).
    public var connectorId: Int
    public var expiryDate: Date
    public var idTag: String
    public var parentIdTag: String?
    public var reservationId: Int

    public init(connectorId: Int, expiryDate: Date, idTag: String, reservationId: Int, parentIdTag: String? = nil) {
        self.connectorId = connectorId
        self.expiryDate = expiryDate
        self.idTag = idTag
        self.parentIdTag = parentIdTag
        self.reservationId = reservationId
    }
}

public struct ReserveNowResponse: OCPPPayload {
    public var status: ReservationStatus

    public init(status: ReservationStatus) {
        self.status = status
    }
}

public enum ReservationStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case faulted = "Faulted"
    case occupied = "Occupied"
    case rejected = "Rejected"
    case unavailable = "Unavailable"
}

import Foundation

public struct StartTransactionRequest: OCPPRequest {
    public typealias Response = StartTransactionResponse
    public static let action = OCPPAction.startTransaction

    public var connectorId: Int
    public var idTag: String
    /// The energy meter's register at the start, in Wh.
    public var meterStart: Int
    public var reservationId: Int?
    public var timestamp: Date

    public init(connectorId: Int, idTag: String, meterStart: Int, timestamp: Date, reservationId: Int? = nil) {
        self.connectorId = connectorId
        self.idTag = idTag
        self.meterStart = meterStart
        self.reservationId = reservationId
        self.timestamp = timestamp
    }
}

public struct StartTransactionResponse: OCPPPayload {
    public var transactionId: Int
    public var idTagInfo: IdTagInfo

    public init(transactionId: Int, idTagInfo: IdTagInfo) {
        self.transactionId = transactionId
        self.idTagInfo = idTagInfo
    }
}

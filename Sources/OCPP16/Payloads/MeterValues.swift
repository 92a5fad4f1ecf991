public struct MeterValuesRequest: OCPPRequest {
    public typealias Response = MeterValuesResponse
    public static let action = OCPPAction.meterValues

    public var connectorId: Int
    public var transactionId: Int?
    public var meterValue: [MeterValue]

    public init(connectorId: Int, meterValue: [MeterValue], transactionId: Int? = nil) {
        self.connectorId = connectorId
        self.transactionId = transactionId
        self.meterValue = meterValue
    }
}

public struct MeterValuesResponse: OCPPPayload {
    public init() {}
}

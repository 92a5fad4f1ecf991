public struct RemoteStopTransactionRequest: OCPPRequest {
    public typealias Response = RemoteStopTransactionResponse
    public static let action = OCPPAction.remoteStopTransaction

    public var transactionId: Int

    public init(transactionId: Int) {
        self.transactionId = transactionId
    }
}

public struct RemoteStopTransactionResponse: OCPPPayload {
    public var status: RemoteStartStopStatus

    public init(status: RemoteStartStopStatus) {
        self.status = status
    }
}

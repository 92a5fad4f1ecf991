/// Sent either way; the same payloads serve both directions.
public struct DataTransferRequest: OCPPRequest {
    public typealias Response = DataTransferResponse
    public static let action = OCPPAction.dataTransfer

    public var vendorId: String
    public var messageId: String?
    public var data: String?

    public init(vendorId: String, messageId: String? = nil, data: String? = nil) {
        self.vendorId = vendorId
        self.messageId = messageId
        self.data = data
    }
}

public struct DataTransferResponse: OCPPPayload {
    public var status: DataTransferStatus
    public var data: String?

    public init(status: DataTransferStatus, data: String? = nil) {
        self.status = status
        self.data = data
    }
}

public enum DataTransferStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case unknownMessageId = "UnknownMessageId"
    case unknownVendorId = "UnknownVendorId"
}

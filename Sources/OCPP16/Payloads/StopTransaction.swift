import Foundation

public struct StopTransactionRequest: OCPPRequest {
    public typealias Response = StopTransactionResponse
    public static let action = OCPPAction.stopTransaction

    public var transactionId: Int
    public var idTag: String?
    /// The energy meter's register at the end, in Wh.
    public var meterStop: Int
    public var timestamp: Date
    public var reason: StopTransactionReason?
    public var transactionData: [MeterValue]?

    public init(
        transactionId: Int, meterStop: Int, timestamp: Date, idTag: String? = nil, reason: StopTransactionReason? = nil,
        transactionData: [MeterValue]? = nil
    ) {
        self.transactionId = transactionId
        self.idTag = idTag
        self.meterStop = meterStop
        self.timestamp = timestamp
        self.reason = reason
        self.transactionData = transactionData
    }
}

public struct StopTransactionResponse: OCPPPayload {
    public var idTagInfo: IdTagInfo?

    public init(idTagInfo: IdTagInfo? = nil) {
        self.idTagInfo = idTagInfo
    }
}

/// `Reason` in the 1.6 schemas; absent means Local.
public enum StopTransactionReason: String, Codable, Sendable, CaseIterable {
    case emergencyStop = "EmergencyStop"
    case evDisconnected = "EVDisconnected"
    case hardReset = "HardReset"
    case local = "Local"
    case other = "Other"
    case powerLoss = "PowerLoss"
    case reboot = "Reboot"
    case remote = "Remote"
    case softReset = "SoftReset"
    case unlockCommand = "UnlockCommand"
    case deAuthorized = "DeAuthorized"
}

import Foundation

public struct StatusNotificationRequest: OCPPRequest {
    public typealias Response = StatusNotificationResponse
    public static let action = OCPPAction.statusNotification

    /// 0 is the charge point as a whole.
    public var connectorId: Int
    public var errorCode: ChargePointErrorCode
    public var info: String?
    public var status: ChargePointStatus
    public var timestamp: Date?
    public var vendorId: String?
    public var vendorErrorCode: String?

    public init(
        connectorId: Int, errorCode: ChargePointErrorCode, status: ChargePointStatus, info: String? = nil,
        timestamp: Date? = nil, vendorId: String? = nil, vendorErrorCode: String? = nil
    ) {
        self.connectorId = connectorId
        self.errorCode = errorCode
        self.info = info
        self.status = status
        self.timestamp = timestamp
        self.vendorId = vendorId
        self.vendorErrorCode = vendorErrorCode
    }
}

public struct StatusNotificationResponse: OCPPPayload {
    public init() {}
}

public enum ChargePointStatus: String, Codable, Sendable, CaseIterable {
    case available = "Available"
    case preparing = "Preparing"
    case charging = "Charging"
    case suspendedEVSE = "SuspendedEVSE"
    case suspendedEV = "SuspendedEV"
    case finishing = "Finishing"
    case reserved = "Reserved"
    case unavailable = "Unavailable"
    case faulted = "Faulted"
}

public enum ChargePointErrorCode: String, Codable, Sendable, CaseIterable {
    case connectorLockFailure = "ConnectorLockFailure"
    case evCommunicationError = "EVCommunicationError"
    case groundFailure = "GroundFailure"
    case highTemperature = "HighTemperature"
    case internalError = "InternalError"
    case localListConflict = "LocalListConflict"
    case noError = "NoError"
    case otherError = "OtherError"
    case overCurrentFailure = "OverCurrentFailure"
    case powerMeterFailure = "PowerMeterFailure"
    case powerSwitchFailure = "PowerSwitchFailure"
    case readerFailure = "ReaderFailure"
    case resetFailure = "ResetFailure"
    case underVoltage = "UnderVoltage"
    case overVoltage = "OverVoltage"
    case weakSignal = "WeakSignal"
}

import Foundation

public struct BootNotificationRequest: OCPPRequest {
    public typealias Response = BootNotificationResponse
    public static let action = OCPPAction.bootNotification

    public var chargePointVendor: String
    public var chargePointModel: String
    public var chargePointSerialNumber: String?
    public var chargeBoxSerialNumber: String?
    public var firmwareVersion: String?
    public var iccid: String?
    public var imsi: String?
    public var meterType: String?
    public var meterSerialNumber: String?

    public init(
        chargePointVendor: String, chargePointModel: String, chargePointSerialNumber: String? = nil,
        chargeBoxSerialNumber: String? = nil, firmwareVersion: String? = nil, iccid: String? = nil,
        imsi: String? = nil, meterType: String? = nil, meterSerialNumber: String? = nil
    ) {
        self.chargePointVendor = chargePointVendor
        self.chargePointModel = chargePointModel
        self.chargePointSerialNumber = chargePointSerialNumber
        self.chargeBoxSerialNumber = chargeBoxSerialNumber
        self.firmwareVersion = firmwareVersion
        self.iccid = iccid
        self.imsi = imsi
        self.meterType = meterType
        self.meterSerialNumber = meterSerialNumber
    }
}

public struct BootNotificationResponse: OCPPPayload {
    public var status: RegistrationStatus
    public var currentTime: Date
    /// Heartbeat interval in seconds (or retry interval while Pending/Rejected).
    public var interval: Int

    public init(status: RegistrationStatus, currentTime: Date, interval: Int) {
        self.status = status
        self.currentTime = currentTime
        self.interval = interval
    }
}

public enum RegistrationStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case pending = "Pending"
    case rejected = "Rejected"
}

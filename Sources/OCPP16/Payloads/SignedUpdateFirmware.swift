import Foundation

public struct SignedUpdateFirmwareRequest: OCPPRequest {
    public typealias Response = SignedUpdateFirmwareResponse
    public static let action = OCPPAction.signedUpdateFirmware

    public var retries: Int?
    public var retryInterval: Int?
    /// Comes back in the charge point's SignedFirmwareStatusNotifications.
    public var requestId: Int
    public var firmware: SignedFirmware

    public init(requestId: Int, firmware: SignedFirmware, retries: Int? = nil, retryInterval: Int? = nil) {
        self.retries = retries
        self.retryInterval = retryInterval
        self.requestId = requestId
        self.firmware = firmware
    }
}

/// `FirmwareType` of the security extension.
public struct SignedFirmware: Codable, Sendable, Equatable {
    public var location: String
    public var retrieveDateTime: Date
    public var installDateTime: Date?
    /// PEM of the certificate that signed the firmware.
    public var signingCertificate: String
    /// Base64 of the firmware's signature.
    public var signature: String

    public init(location: String, retrieveDateTime: Date, signingCertificate: String, signature: String, installDateTime: Date? = nil) {
        self.location = location
        self.retrieveDateTime = retrieveDateTime
        self.installDateTime = installDateTime
        self.signingCertificate = signingCertificate
        self.signature = signature
    }
}

public struct SignedUpdateFirmwareResponse: OCPPPayload {
    public var status: SignedUpdateFirmwareStatus

    public init(status: SignedUpdateFirmwareStatus) {
        self.status = status
    }
}

public enum SignedUpdateFirmwareStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case acceptedCanceled = "AcceptedCanceled"
    case invalidCertificate = "InvalidCertificate"
    case revokedCertificate = "RevokedCertificate"
}

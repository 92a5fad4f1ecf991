import Foundation

public struct UpdateFirmwareRequest: OCPPRequest {
    public typealias Response = UpdateFirmwareResponse
    public static let action = OCPPAction.updateFirmware

    /// Where the charge point downloads the firmware from.
    public var location: String
    public var retries: Int?
    /// From when the charge point may download it.
    public var retrieveDate: Date
    /// Seconds between retries.
    public var retryInterval: Int?

    public init(location: String, retrieveDate: Date, retries: Int? = nil, retryInterval: Int? = nil) {
        self.location = location
        self.retries = retries
        self.retrieveDate = retrieveDate
        self.retryInterval = retryInterval
    }
}

/// Empty: the charge point reports its progress with FirmwareStatusNotification.
public struct UpdateFirmwareResponse: OCPPPayload {
    public init() {}
}

import Foundation

public struct GetLogRequest: OCPPRequest {
    public typealias Response = GetLogResponse
    public static let action = OCPPAction.getLog

    public var log: LogParameters
    public var logType: LogType
    /// Comes back in the charge point's LogStatusNotifications.
    public var requestId: Int
    public var retries: Int?
    public var retryInterval: Int?

    public init(log: LogParameters, logType: LogType, requestId: Int, retries: Int? = nil, retryInterval: Int? = nil) {
        self.log = log
        self.logType = logType
        self.requestId = requestId
        self.retries = retries
        self.retryInterval = retryInterval
    }
}

public struct LogParameters: Codable, Sendable, Equatable {
    public var remoteLocation: String
    public var oldestTimestamp: Date?
    public var latestTimestamp: Date?

    public init(remoteLocation: String, oldestTimestamp: Date? = nil, latestTimestamp: Date? = nil) {
        self.remoteLocation = remoteLocation
        self.oldestTimestamp = oldestTimestamp
        self.latestTimestamp = latestTimestamp
    }
}

public enum LogType: String, Codable, Sendable, CaseIterable {
    case diagnosticsLog = "DiagnosticsLog"
    case securityLog = "SecurityLog"
}

public struct GetLogResponse: OCPPPayload {
    public var status: LogStatus
    public var filename: String?

    public init(status: LogStatus, filename: String? = nil) {
        self.status = status
        self.filename = filename
    }
}

public enum LogStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case acceptedCanceled = "AcceptedCanceled"
}

import Foundation

public struct GetDiagnosticsRequest: OCPPRequest {
    public typealias Response = GetDiagnosticsResponse
    public static let action = OCPPAction.getDiagnostics

    /// Where the charge point uploads the file (FTP, FTPS, HTTP or HTTPS).
    public var location: String
    public var retries: Int?
    /// Seconds between retries.
    public var retryInterval: Int?
    public var startTime: Date?
    public var stopTime: Date?

    public init(location: String, retries: Int? = nil, retryInterval: Int? = nil, startTime: Date? = nil, stopTime: Date? = nil) {
        self.location = location
        self.retries = retries
        self.retryInterval = retryInterval
        self.startTime = startTime
        self.stopTime = stopTime
    }
}

public struct GetDiagnosticsResponse: OCPPPayload {
    /// Absent when the charge point has no diagnostics to upload.
    public var fileName: String?

    public init(fileName: String? = nil) {
        self.fileName = fileName
    }
}

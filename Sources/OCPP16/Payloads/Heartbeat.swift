import Foundation

public struct HeartbeatRequest: OCPPRequest {
    public typealias Response = HeartbeatResponse
    public static let action = OCPPAction.heartbeat

    public init() {}
}

public struct HeartbeatResponse: OCPPPayload {
    public var currentTime: Date

    public init(currentTime: Date) {
        self.currentTime = currentTime
    }
}

import Foundation

public struct GetCompositeScheduleRequest: OCPPRequest {
    public typealias Response = GetCompositeScheduleResponse
    public static let action = OCPPAction.getCompositeSchedule

    public var connectorId: Int
    /// Seconds.
    public var duration: Int
    public var chargingRateUnit: ChargingRateUnit?

    public init(connectorId: Int, duration: Int, chargingRateUnit: ChargingRateUnit? = nil) {
        self.connectorId = connectorId
        self.duration = duration
        self.chargingRateUnit = chargingRateUnit
    }
}

public struct GetCompositeScheduleResponse: OCPPPayload {
    public var status: GetCompositeScheduleStatus
    public var connectorId: Int?
    public var scheduleStart: Date?
    public var chargingSchedule: ChargingSchedule?

    public init(status: GetCompositeScheduleStatus, connectorId: Int? = nil, scheduleStart: Date? = nil,
                chargingSchedule: ChargingSchedule? = nil) {
        self.status = status
        self.connectorId = connectorId
        self.scheduleStart = scheduleStart
        self.chargingSchedule = chargingSchedule
    }
}

public enum GetCompositeScheduleStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}

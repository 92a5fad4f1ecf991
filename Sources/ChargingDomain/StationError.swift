public enum StationError: Error, Equatable, Sendable {
    case waitingAreaFull
    case invalidAmount
    case alreadyHasActiveRequest
    case noActiveRequest
    case notInWaitingArea
    case nothingToModify
    case unknownPile
    case pileAlreadyExists
    case unknownRequest
    case invalidMeterReading
    case pileBusy
    case invalidSettings(String)

    /// The user-facing message (the API's `msg`).
    public var message: String {
        switch self {
        case .waitingAreaFull: "等候区已满"
        case .invalidAmount: "充电量必须大于0且不超过电池容量"
        case .alreadyHasActiveRequest: "已有进行中的充电请求"
        case .noActiveRequest: "没有进行中的充电请求"
        case .notInWaitingArea: "只能在等候区修改请求"
        case .nothingToModify: "未指定要修改的内容"
        case .unknownPile: "充电桩不存在"
        case .pileAlreadyExists: "充电桩编号已存在"
        case .unknownRequest: "充电请求不存在或未在该桩充电"
        case .invalidMeterReading: "电表读数无效"
        case .pileBusy: "该充电桩正在使用或有车辆排队"
        case .invalidSettings(let problem): "站点设置无效：\(problem)"
        }
    }
}

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
    /// A reading below the session's previous one (a meter never runs backwards).
    case invalidMeterReading
    /// More energy than the pile's power could deliver since the session started (`MeterPlausibility`).
    case implausibleMeterReading
    case pileBusy
    case invalidSettings(String)
    /// A reservation that ends before it starts, or is over already.
    case invalidReservation
    case unknownReservation

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
        case .invalidMeterReading: "电表读数无效：小于上一次读数"
        case .implausibleMeterReading: "电表读数无效：超过充电桩功率在该时长内可输出的电量"
        case .pileBusy: "该充电桩正在使用或有车辆排队"
        case .invalidSettings(let problem): "站点设置无效：\(problem)"
        case .invalidReservation: "预约时间无效：结束时间必须晚于开始时间和当前时间"
        case .unknownReservation: "预约不存在或已结束"
        }
    }
}

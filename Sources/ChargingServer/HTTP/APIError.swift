/// A handled failure: the admin front-end gets `{"code": -1, "msg": message}` with HTTP 200.
public struct APIError: Error, Sendable, Equatable {
    public let message: String
    /// Set when the client is to try again later: `retry_after` in the answer and a `Retry-After` header.
    public var retryAfterSeconds: Int?

    public init(_ message: String, retryAfterSeconds: Int? = nil) {
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    static let invalidToken = APIError("token无效或已过期")
    static let wrongCredentials = APIError("用户名或密码错误")
    static let unknownPile = APIError("充电桩不存在")
    static let pileOffline = APIError("充电桩离线")
    static let writeFailed = APIError("websocket写入失败")
    /// An OCPP charger answered the command with Rejected (or a CALLERROR).
    static let commandRejected = APIError("充电桩拒绝了该命令")
    static let bodyTooLarge = APIError("请求体过大")
    static let malformedBody = APIError("请求体格式错误")
    static let tooManyAttempts = APIError("尝试次数过多，请稍后再试")
    static let busy = APIError("服务繁忙，请稍后再试")
    static let passwordTooLong = APIError("密码不能超过72字节")
    /// More chargers are arriving than this instance admits per second (`PileAdmission`).
    static func admissionFull(retryAfterSeconds: Int) -> APIError {
        APIError("服务繁忙，请稍后重试", retryAfterSeconds: retryAfterSeconds)
    }
    static let unavailable = APIError("服务暂时不可用，请稍后重试")

    static func missingParameter(_ name: String) -> APIError { APIError("缺少参数: \(name)") }
    static func invalidParameter(_ name: String) -> APIError { APIError("参数格式错误: \(name)") }
}

/// A validated, decoded CALL from a charge point.
public enum ChargePointCall: Sendable, Equatable {
    case authorize(AuthorizeRequest)
    case bootNotification(BootNotificationRequest)
    case dataTransfer(DataTransferRequest)
    case diagnosticsStatusNotification(DiagnosticsStatusNotificationRequest)
    case firmwareStatusNotification(FirmwareStatusNotificationRequest)
    case heartbeat(HeartbeatRequest)
    case meterValues(MeterValuesRequest)
    case startTransaction(StartTransactionRequest)
    case statusNotification(StatusNotificationRequest)
    case stopTransaction(StopTransactionRequest)
    case logStatusNotification(LogStatusNotificationRequest)
    case securityEventNotification(SecurityEventNotificationRequest)
    case signCertificate(SignCertificateRequest)
    case signedFirmwareStatusNotification(SignedFirmwareStatusNotificationRequest)

    public var action: OCPPAction {
        switch self {
        case .authorize: .authorize
        case .bootNotification: .bootNotification
        case .dataTransfer: .dataTransfer
        case .diagnosticsStatusNotification: .diagnosticsStatusNotification
        case .firmwareStatusNotification: .firmwareStatusNotification
        case .heartbeat: .heartbeat
        case .meterValues: .meterValues
        case .startTransaction: .startTransaction
        case .statusNotification: .statusNotification
        case .stopTransaction: .stopTransaction
        case .logStatusNotification: .logStatusNotification
        case .securityEventNotification: .securityEventNotification
        case .signCertificate: .signCertificate
        case .signedFirmwareStatusNotification: .signedFirmwareStatusNotification
        }
    }

    /// Decodes a payload that passed `action`'s request schema; nil for an action a charge point
    /// does not send.
    static func decode(_ action: OCPPAction, payload: JSONValue) throws -> ChargePointCall? {
        switch action {
        case .authorize: .authorize(try payload.decode(AuthorizeRequest.self))
        case .bootNotification: .bootNotification(try payload.decode(BootNotificationRequest.self))
        case .dataTransfer: .dataTransfer(try payload.decode(DataTransferRequest.self))
        case .diagnosticsStatusNotification:
            .diagnosticsStatusNotification(try payload.decode(DiagnosticsStatusNotificationRequest.self))
        case .firmwareStatusNotification:
            .firmwareStatusNotification(try payload.decode(FirmwareStatusNotificationRequest.self))
        case .heartbeat: .heartbeat(try payload.decode(HeartbeatRequest.self))
        case .meterValues: .meterValues(try payload.decode(MeterValuesRequest.self))
        case .startTransaction: .startTransaction(try payload.decode(StartTransactionRequest.self))
        case .statusNotification: .statusNotification(try payload.decode(StatusNotificationRequest.self))
        case .stopTransaction: .stopTransaction(try payload.decode(StopTransactionRequest.self))
        case .logStatusNotification: .logStatusNotification(try payload.decode(LogStatusNotificationRequest.self))
        case .securityEventNotification: .securityEventNotification(try payload.decode(SecurityEventNotificationRequest.self))
        case .signCertificate: .signCertificate(try payload.decode(SignCertificateRequest.self))
        case .signedFirmwareStatusNotification:
            .signedFirmwareStatusNotification(try payload.decode(SignedFirmwareStatusNotificationRequest.self))
        default:
            nil
        }
    }
}

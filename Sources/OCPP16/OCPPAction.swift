/// Every OCPP 1.6 action: the six feature profiles (Core, Firmware Management, Local Auth List
/// Management, Reservation, Smart Charging, Remote Trigger) and the 1.6 security extension.
public enum OCPPAction: String, Sendable, Hashable, CaseIterable, Codable {
    // Charge point → central system.
    case authorize = "Authorize"
    case bootNotification = "BootNotification"
    case diagnosticsStatusNotification = "DiagnosticsStatusNotification"
    case firmwareStatusNotification = "FirmwareStatusNotification"
    case heartbeat = "Heartbeat"
    case meterValues = "MeterValues"
    case startTransaction = "StartTransaction"
    case statusNotification = "StatusNotification"
    case stopTransaction = "StopTransaction"
    // Charge point → central system, security extension.
    case logStatusNotification = "LogStatusNotification"
    case securityEventNotification = "SecurityEventNotification"
    case signCertificate = "SignCertificate"
    case signedFirmwareStatusNotification = "SignedFirmwareStatusNotification"
    // Either way.
    case dataTransfer = "DataTransfer"
    // Central system → charge point.
    case cancelReservation = "CancelReservation"
    case changeAvailability = "ChangeAvailability"
    case changeConfiguration = "ChangeConfiguration"
    case clearCache = "ClearCache"
    case clearChargingProfile = "ClearChargingProfile"
    case getCompositeSchedule = "GetCompositeSchedule"
    case getConfiguration = "GetConfiguration"
    case getDiagnostics = "GetDiagnostics"
    case getLocalListVersion = "GetLocalListVersion"
    case remoteStartTransaction = "RemoteStartTransaction"
    case remoteStopTransaction = "RemoteStopTransaction"
    case reserveNow = "ReserveNow"
    case reset = "Reset"
    case sendLocalList = "SendLocalList"
    case setChargingProfile = "SetChargingProfile"
    case triggerMessage = "TriggerMessage"
    case unlockConnector = "UnlockConnector"
    case updateFirmware = "UpdateFirmware"
    // Central system → charge point, security extension.
    case certificateSigned = "CertificateSigned"
    case deleteCertificate = "DeleteCertificate"
    case extendedTriggerMessage = "ExtendedTriggerMessage"
    case getInstalledCertificateIds = "GetInstalledCertificateIds"
    case getLog = "GetLog"
    case installCertificate = "InstallCertificate"
    case signedUpdateFirmware = "SignedUpdateFirmware"

    /// Whether a charge point may send this action to the central system.
    public var isSentByChargePoint: Bool {
        switch self {
        case .authorize, .bootNotification, .diagnosticsStatusNotification, .firmwareStatusNotification,
             .heartbeat, .meterValues, .startTransaction, .statusNotification, .stopTransaction, .dataTransfer,
             .logStatusNotification, .securityEventNotification, .signCertificate, .signedFirmwareStatusNotification:
            true
        case .cancelReservation, .changeAvailability, .changeConfiguration, .clearCache, .clearChargingProfile,
             .getCompositeSchedule, .getConfiguration, .getDiagnostics, .getLocalListVersion, .remoteStartTransaction,
             .remoteStopTransaction, .reserveNow, .reset, .sendLocalList, .setChargingProfile, .triggerMessage,
             .unlockConnector, .updateFirmware, .certificateSigned, .deleteCertificate, .extendedTriggerMessage,
             .getInstalledCertificateIds, .getLog, .installCertificate, .signedUpdateFirmware:
            false
        }
    }

    /// Whether the central system may send this action to a charge point.
    public var isSentByCentralSystem: Bool {
        self == .dataTransfer || !isSentByChargePoint
    }

}

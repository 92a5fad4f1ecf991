/// The OCPP 1.6 actions this module implements: the Core profile and TriggerMessage.
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
    // Either way.
    case dataTransfer = "DataTransfer"
    // Central system → charge point.
    case changeAvailability = "ChangeAvailability"
    case changeConfiguration = "ChangeConfiguration"
    case clearCache = "ClearCache"
    case getConfiguration = "GetConfiguration"
    case remoteStartTransaction = "RemoteStartTransaction"
    case remoteStopTransaction = "RemoteStopTransaction"
    case reset = "Reset"
    case triggerMessage = "TriggerMessage"
    case unlockConnector = "UnlockConnector"

    /// Whether a charge point may send this action to the central system.
    public var isSentByChargePoint: Bool {
        switch self {
        case .authorize, .bootNotification, .diagnosticsStatusNotification, .firmwareStatusNotification,
             .heartbeat, .meterValues, .startTransaction, .statusNotification, .stopTransaction, .dataTransfer:
            true
        case .changeAvailability, .changeConfiguration, .clearCache, .getConfiguration,
             .remoteStartTransaction, .remoteStopTransaction, .reset, .triggerMessage, .unlockConnector:
            false
        }
    }

    /// Whether the central system may send this action to a charge point.
    public var isSentByCentralSystem: Bool {
        self == .dataTransfer || !isSentByChargePoint
    }

    /// OCPP 1.6 actions (other profiles) that only a central system sends, and this module does not
    /// implement. A charge point sending one gets `NotSupported`, not `NotImplemented`: the action is known.
    static let otherCentralSystemActions: Set<String> = [
        "CancelReservation", "ClearChargingProfile", "GetCompositeSchedule", "GetDiagnostics",
        "GetLocalListVersion", "ReserveNow", "SendLocalList", "SetChargingProfile", "UpdateFirmware",
    ]
}

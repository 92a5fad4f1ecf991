import OCPP16

/// What a simulated OCPP 1.6J charge point did or was told, in order.
public enum OCPPChargePointEvent: Sendable, Equatable {
    /// The WebSocket opened (the handshake with `ocpp1.6` and Basic credentials was accepted).
    case connected
    /// The central system answered BootNotification.
    case booted(RegistrationStatus, interval: Int)
    /// A CALL from the central system, valid for its action, before it is answered.
    case callReceived(OCPPAction, JSONValue)
    /// The connector's status changed (a StatusNotification for it is queued).
    case statusChanged(ChargePointStatus)
    /// StartTransaction was answered with this transactionId (`accepted`: its idTagInfo said Accepted).
    case transactionStarted(transactionID: Int, idTag: String, meterStartWh: Int, accepted: Bool)
    /// StopTransaction was queued.
    case transactionStopped(transactionID: Int, meterStopWh: Int, reason: StopTransactionReason)
    /// One of the charge point's CALLs got a CALLERROR, an invalid CALLRESULT, or no answer in time.
    case callFailed(OCPPAction, String)
    /// A frame from the central system that could not be used (not OCPP-J, an unknown or invalid CALL,
    /// an answer to no call in flight); `reply` is the CALLERROR sent back, if any.
    case rejectedFrame(String, reply: String?)
    /// Reset: the charge point closes the socket and boots again.
    case rebooting(ResetType)
    /// The socket closed. `code`/`reason` come from the server's close frame; nil when none arrived.
    case closed(code: Int?, reason: String?)
    /// A connection attempt failed (refused handshake, no server); the fleet retries with `reconnect`.
    case connectFailed(String)
}

/// The answer to RemoteStartTransaction and RemoteStopTransaction.
public enum RemoteStartStopStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}

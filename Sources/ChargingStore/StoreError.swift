import PostgresClient

/// What the store reports beyond a plain database failure.
public enum StoreError: Error, Sendable, Equatable {
    case usernameTaken
    case pileExists
    case stationExists
    case notFound
    /// An OCPP security profile other than 1, 2 or 3.
    case invalidSecurityProfile
}

import PostgresClient

/// What the store reports beyond a plain database failure.
public enum StoreError: Error, Sendable, Equatable {
    case usernameTaken
    case pileExists
    case stationExists
    case notFound
}

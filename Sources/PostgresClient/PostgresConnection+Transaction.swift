extension PostgresConnection {
    /// BEGIN … COMMIT around `body`; ROLLBACK when it throws. A connection whose
    /// rollback fails is marked broken so a pool drops it. BEGIN goes with the body's
    /// first statement (or `pipeline`), in its round trip.
    @discardableResult
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await begin()
        let result: Result
        do {
            result = try await body(self)
        } catch {
            await rollbackOrMarkBroken()
            throw error
        }
        do {
            try await commit()
        } catch {
            await rollbackOrMarkBroken()
            throw error
        }
        return result
    }

    private func rollbackOrMarkBroken() async {
        do {
            try await rollback()
        } catch {
            logger.warning("postgres rollback failed; discarding the connection", metadata: ["error": "\(error)"])
            markBroken()
        }
    }
}

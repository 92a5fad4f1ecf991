import Foundation
import PostgresClient
import TestSupport

/// A connection to a fresh database, closed afterwards.
@discardableResult
func withFreshConnection<Result>(
    overrides: [String: String] = [:],
    _ body: (PostgresConnection) async throws -> Result
) async throws -> Result {
    let conninfo = try await TestDatabase.makeDatabase()
    let connection = try await PostgresConnection.connect(conninfo, overrides: overrides)
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

/// Ends a backend from outside and waits until it is gone.
func terminateBackend(_ pid: Int32) async throws {
    let server = try await TestDatabase.server()
    let admin = try await PostgresConnection.connect(server.conninfo)
    do {
        _ = try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")
    } catch {
        await admin.close()
        throw error
    }
    await admin.close()
}

struct Timeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(
    _ what: String, within seconds: Double = 10, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw Timeout(what: what)
}

import Foundation
import Synchronization

/// Group commit for one kind of single-row write: callers that arrive while a batch runs are taken
/// together into the next one, which is one statement (one round trip, one commit) for all of them.
/// Alone, a caller waits for nobody; under a storm of thousands of chargers, N writes cost one
/// statement instead of N.
///
/// The statement receives the batch as one bound parameter, a JSON array of the inputs, each with
/// its position `n` added (read it with `batch_rows($1::jsonb) AS element, jsonb_to_record(element) AS
/// i(n integer, …)`: `batch_rows` tells the planner how few rows to expect); a caller
/// gets the result rows whose `n` column is its own (none when the statement returned none for it:
/// a stale epoch, say). Lock rows in one order (`ORDER BY id FOR UPDATE`) so two batches never
/// deadlock. When a batch of several fails, each of its inputs runs again alone, so one bad input
/// fails only its own caller.
public final class PostgresBatcher<Input: Encodable & Sendable>: Sendable {
    public typealias Statement = @Sendable (_ batchJSON: String) -> PostgresQuery

    private struct Waiting {
        var input: Input
        var caller: CheckedContinuation<[PostgresRow], any Error>
    }

    private struct Line {
        var waiting: [Waiting] = []
        var running = false
    }

    private let pool: PostgresPool
    private let maxBatch: Int
    /// The pool priority every batch runs at, whoever's call started it.
    private let priority: PostgresPool.Priority
    private let statement: Statement
    /// How long a small batch waits for more inputs before it is written (see `init`).
    private let linger: Duration
    /// A lock, not an actor: a caller joins the line on its own thread (a socket's event loop), and only
    /// the drain leaves it, so a reading costs no hop to another thread on its way in.
    private let line = Mutex(Line())

    /// Inputs waiting for the next batch (not the one running).
    var waitingCount: Int { line.withLock { $0.waiting.count } }
    /// A batch is being written and nobody waits for the next one yet.
    var onlyOneBatchRunning: Bool { line.withLock { $0.running && $0.waiting.isEmpty } }

    /// `linger`: a batch of fewer than `Self.lingerBelow` inputs first waits this long for more (PostgreSQL's
    /// `commit_delay`, for one kind of write). Callers arriving while a batch is written are taken together
    /// anyway; under a steady trickle, which never queues behind a statement, a short wait is what gathers
    /// them: each statement and round trip has a fixed price (and wakes two processes), an input's share of
    /// a batch's is small.
    public init(pool: PostgresPool, maxBatch: Int = 256, priority: PostgresPool.Priority = .normal, linger: Duration = .zero,
                statement: @escaping Statement) {
        self.pool = pool
        self.maxBatch = maxBatch
        self.priority = priority
        self.linger = linger
        self.statement = statement
    }

    /// A batch this small waits `linger` for more before it is written.
    public static var lingerBelow: Int { 8 }

    /// Runs `input` in the next batch and returns its result rows.
    public func run(_ input: Input) async throws -> [PostgresRow] {
        try await withCheckedThrowingContinuation { caller in
            let starts = line.withLock { line in
                line.waiting.append(Waiting(input: input, caller: caller))
                defer { line.running = true }
                return !line.running
            }
            if starts { Task { [priority] in await PostgresPool.$priority.withValue(priority) { await drain() } } }
        }
    }

    private func drain() async {
        while true {
            if linger > .zero, line.withLock({ $0.waiting.count }) < Self.lingerBelow { try? await Task.sleep(for: linger) }
            let batch = line.withLock { line -> [Waiting] in
                let batch = Array(line.waiting.prefix(maxBatch))
                line.waiting.removeFirst(batch.count)
                return batch
            }
            await runBatch(batch)
            // Done when nobody came meanwhile; else the next batch (which may linger again).
            guard line.withLock({ line in
                if line.waiting.isEmpty { line.running = false }
                return line.running
            }) else { return }
        }
    }

    private func runBatch(_ batch: [Waiting]) async {
        do {
            let rows = try await execute(batch.map(\.input))
            for (position, waiting) in batch.enumerated() { waiting.caller.resume(returning: rows[position] ?? []) }
        } catch where batch.count > 1 {
            for waiting in batch { await runBatch([waiting]) }
        } catch {
            batch[0].caller.resume(throwing: error)
        }
    }

    /// The result rows of each input, by position.
    private func execute(_ inputs: [Input]) async throws -> [Int: [PostgresRow]] {
        let json = try BatchJSON.encode(inputs)
        var rows: [Int: [PostgresRow]] = [:]
        for row in try await pool.query(statement(json)) { rows[try row.decode("n"), default: []].append(row) }
        return rows
    }
}

import ChargingDomain
import Foundation
import PostgresClient
import Synchronization

/// One call of `StationStore.update`, waiting in its station's line.
///
/// `change` and `deliver` are the caller's non-escaping closures, lent while the caller waits for the
/// step's outcome: whichever task runs the step calls them, one step at a time, and the caller's call
/// returns only after that, so nothing else runs them meanwhile (hence `@unchecked Sendable`).
struct StationStep: @unchecked Sendable {
    typealias Change = (inout Station, StationClock, PostgresConnection, _ along: [PostgresRows]) async throws -> [StationEffect]
    typealias Deliver = @Sendable ([StationEffect], StationClock, PostgresConnection) async throws -> Void

    var offlineGrace: Duration
    /// A manual clock's move: such a step runs alone.
    var manualTime: Date?
    var readings: StationStore.Readings
    var along: [PostgresQuery]
    var change: Change
    var deliver: Deliver

    /// Whether this step may run in one transaction with `leader`'s.
    func joins(_ leader: StationStep) -> Bool {
        manualTime == nil && leader.manualTime == nil && offlineGrace == leader.offlineGrace
    }
}

/// The engine steps of each station in this instance, one batch at a time (group commit).
///
/// A step arriving while its station is idle runs at once, alone. Steps arriving while one runs wait here,
/// not on the database's lock each holding a connection; when the running batch ends, the first step
/// waiting runs with the others waiting by then: one transaction, one lock, one load of the station, one
/// write and one commit for all of them. On a busy station (a burst of StartTransactions) most steps
/// queue, and a step's cost in PostgreSQL is mostly those fixed parts.
final class StationSteps: Sendable {
    /// What a waiting step is told: to run (with the steps behind it), or how its step ended.
    enum Turn: Sendable {
        case run(with: [Waiting])
        case done(Result<[StationEffect], any Error>)
    }

    /// A step waiting for its turn. The step is taken out by the task that runs it (`take`), so that only the
    /// run holds the caller's closures: the caller's `withoutActuallyEscaping` checks that nothing does
    /// once its call returns.
    final class Waiting: @unchecked Sendable {
        private var step: StationStep?
        let turn: CheckedContinuation<Turn, Never>

        init(_ step: StationStep, turn: CheckedContinuation<Turn, Never>) {
            self.step = step
            self.turn = turn
        }

        /// Whether the step may run in one transaction with `leader`'s (read under the lines' lock).
        func joins(_ leader: Waiting) -> Bool {
            step?.joins(leader.step!) ?? false
        }

        func take() -> StationStep {
            defer { step = nil }
            return step!
        }
    }

    private struct Line {
        var running = false
        var waiting: [Waiting] = []
    }

    /// The most steps in one batch: a batch's statements grow with it.
    static let maxBatch = 32
    private let lines = Mutex<[Int: Line]>([:])

    /// Runs `step` at its station in turn: `run` gets the steps of one batch (this one first) and gives
    /// each its outcome, in order.
    func perform(
        _ step: StationStep, stationID: Int, run: ([StationStep]) async -> [Result<[StationEffect], any Error>]
    ) async throws -> [StationEffect] {
        let turn = await withCheckedContinuation { (turn: CheckedContinuation<Turn, Never>) in
            let idle = lines.withLock { lines in
                if lines[stationID, default: Line()].running {
                    lines[stationID]!.waiting.append(Waiting(step, turn: turn))
                    return false
                }
                lines[stationID, default: Line()].running = true
                return true
            }
            if idle { turn.resume(returning: .run(with: [])) }
        }
        switch turn {
        case .done(let outcome):
            return try outcome.get()
        case .run(let others):
            let outcomes = await run([step] + others.map { $0.take() })
            handOver(stationID)
            for (other, outcome) in zip(others, outcomes.dropFirst()) {
                other.turn.resume(returning: .done(outcome))
            }
            return try outcomes[0].get()
        }
    }

    /// How many steps wait at the station behind the running batch.
    func waitingCount(_ stationID: Int) -> Int {
        lines.withLock { $0[stationID]?.waiting.count ?? 0 }
    }

    /// The station's next batch: the first step waiting, with those right after it that may join it.
    private func handOver(_ stationID: Int) {
        let next = lines.withLock { lines -> (Waiting, [Waiting])? in
            guard var line = lines[stationID], !line.waiting.isEmpty else {
                lines[stationID] = nil
                return nil
            }
            let first = line.waiting.removeFirst()
            let joining = line.waiting.prefix { $0.joins(first) }.prefix(Self.maxBatch - 1)
            line.waiting.removeFirst(joining.count)
            lines[stationID] = line
            return (first, Array(joining))
        }
        if let (first, others) = next {
            _ = first.take()  // its task runs the step it passed to `perform` itself
            first.turn.resume(returning: .run(with: others))
        }
    }
}

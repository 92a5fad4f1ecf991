import Synchronization

/// What a `PostgresListener`'s callers and its loop thread share: the wanted channels,
/// LISTEN/UNLISTEN requests for the loop to carry out, and the stop flag.
final class ListenerControl: Sendable {
    enum Command: Sendable {
        case listen(String)
        case unlisten(String)
    }

    struct Request {
        var command: Command
        var continuation: CheckedContinuation<Void, any Error>
    }

    enum Phase {
        case notStarted, running, finished
    }

    private struct State {
        var channels: [String] = []
        var requests: [Request] = []
        var phase = Phase.notStarted
        var stopRequested = false
    }

    private let state = Mutex(State())
    let wakeup = EventWakeup()
    let events: AsyncStream<PostgresListener.Event>.Continuation

    init(events: AsyncStream<PostgresListener.Event>.Continuation) {
        self.events = events
    }

    /// Records the channel at once (every (re)connect LISTENs the recorded set), then,
    /// while the loop runs, waits for it to execute the statement on the live connection.
    func submit(_ command: Command) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let queued = state.withLock { state in
                switch command {
                case .listen(let channel):
                    if !state.channels.contains(channel) { state.channels.append(channel) }
                case .unlisten(let channel):
                    state.channels.removeAll { $0 == channel }
                }
                guard state.phase == .running else { return false }
                state.requests.append(Request(command: command, continuation: continuation))
                return true
            }
            if queued {
                wakeup.signal()
            } else {
                continuation.resume()
            }
        }
    }

    var channels: [String] { state.withLock { $0.channels } }

    func takeRequests() -> [Request] {
        state.withLock { state in
            defer { state.requests = [] }
            return state.requests
        }
    }

    var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    func requestStop() {
        state.withLock { $0.stopRequested = true }
        wakeup.signal()
    }

    func beginRun() throws {
        try state.withLock { state in
            guard state.phase == .notStarted else {
                throw PostgresError(kind: .closed, message: "a PostgresListener runs only once")
            }
            state.phase = .running
        }
    }

    /// The loop has stopped: settle any request it did not get to and end the event stream.
    func endRun() {
        let leftover = state.withLock { state in
            state.phase = .finished
            defer { state.requests = [] }
            return state.requests
        }
        leftover.forEach { $0.continuation.resume() }
        events.finish()
    }
}

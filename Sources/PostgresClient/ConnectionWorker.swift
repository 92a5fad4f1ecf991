import Dispatch

/// The serial thread a connection's blocking libpq calls run on, so they never block
/// Swift's cooperative pool.
final class ConnectionWorker: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Swift.Result(catching: body))
            }
        }
    }
}

/// Requests waiting on this instance for their commands' outcomes; a `result`
/// notification wakes the one it names, with the outcome when it carried one.
actor CommandWaiters {
    enum Wake: Sendable, Equatable {
        case signalled(CommandOutcome?)
        case timedOut
    }

    private var waiting: [Int64: CheckedContinuation<Wake, Never>] = [:]
    private var signalled: [Int64: CommandOutcome?] = [:]

    func signal(_ id: Int64, outcome: CommandOutcome?) {
        if let continuation = waiting.removeValue(forKey: id) {
            continuation.resume(returning: .signalled(outcome))
        } else {
            signalled[id] = outcome
        }
    }

    func wait(_ id: Int64, timeout: Duration) async -> Wake {
        if let outcome = signalled.removeValue(forKey: id) { return .signalled(outcome) }
        return await withCheckedContinuation { continuation in
            waiting[id] = continuation
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id)
            }
        }
    }

    func forget(_ id: Int64) { signalled.removeValue(forKey: id) }

    private func expire(_ id: Int64) {
        waiting.removeValue(forKey: id)?.resume(returning: .timedOut)
    }
}

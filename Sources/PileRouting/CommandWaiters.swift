/// Requests waiting on this instance for their commands' outcomes; a `result`
/// notification wakes the one it names.
actor CommandWaiters {
    private var waiting: [Int64: CheckedContinuation<Bool, Never>] = [:]
    private var signalled: Set<Int64> = []

    func signal(_ id: Int64) {
        if let continuation = waiting.removeValue(forKey: id) {
            continuation.resume(returning: true)
        } else {
            signalled.insert(id)
        }
    }

    /// True when signalled, false after `timeout`.
    func wait(_ id: Int64, timeout: Duration) async -> Bool {
        if signalled.remove(id) != nil { return true }
        return await withCheckedContinuation { continuation in
            waiting[id] = continuation
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id)
            }
        }
    }

    func forget(_ id: Int64) { signalled.remove(id) }

    private func expire(_ id: Int64) {
        waiting.removeValue(forKey: id)?.resume(returning: false)
    }
}

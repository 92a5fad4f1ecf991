import CLibPQ
import Foundation

/// libpq's PGcancel: asks the server to cancel the running query from any thread.
/// PQcancel is thread-safe; the lock only orders it against `free()`.
final class LibPQCanceller: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: OpaquePointer?

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        free()
    }

    /// Blocks for a short network round trip: call it off the cooperative pool.
    @discardableResult
    func cancel() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let handle else { return false }
        var errorBuffer = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &errorBuffer, Int32(errorBuffer.count)) == 1
    }

    func free() {
        lock.lock()
        defer { lock.unlock() }
        if let handle {
            PQfreeCancel(handle)
            self.handle = nil
        }
    }
}

import Synchronization

/// `set_power` frames waiting for their pile's `ack`: our protocol's answer to a power limit comes as a frame of
/// its own, so the delivery of a limit waits here for it, like an OCPP call waits for its CALLRESULT.
final class PowerLimitAcknowledgements: Sendable {
    private enum Slot {
        case expected
        case acknowledged
        case waiting(CheckedContinuation<Bool, Never>)
    }

    private let slots = Mutex<[Int64: Slot]>([:])

    /// Before the frame is written, so that an `ack` that overtakes `wait` is not lost.
    func expect(_ id: Int64) { slots.withLock { $0[id] = .expected } }

    /// True once the pile acknowledged command `id`, false at `deadline`.
    func wait(for id: Int64, until deadline: ContinuousClock.Instant) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let acknowledged: Bool? = self.slots.withLock { slots in
                        switch slots[id] {
                        case .expected?:
                            slots[id] = .waiting(continuation)
                            return nil
                        case .acknowledged?:
                            slots[id] = nil
                            return true
                        case .waiting?, nil:
                            return false  // timed out already
                        }
                    }
                    if let acknowledged { continuation.resume(returning: acknowledged) }
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                self.finish(id, acknowledged: false)
                return false
            }
            let acknowledged = await group.next() ?? false
            group.cancelAll()
            return acknowledged
        }
    }

    /// The pile's `ack` of command `id`; false when nobody expects it.
    @discardableResult
    func acknowledge(_ id: Int64) -> Bool { finish(id, acknowledged: true) }

    @discardableResult
    private func finish(_ id: Int64, acknowledged: Bool) -> Bool {
        let (known, waiter): (Bool, CheckedContinuation<Bool, Never>?) = slots.withLock { slots in
            switch slots[id] {
            case .expected?:
                slots[id] = acknowledged ? .acknowledged : nil
                return (true, nil)
            case .waiting(let continuation)?:
                slots[id] = nil
                return (true, continuation)
            case .acknowledged?:
                if !acknowledged { slots[id] = nil }
                return (false, nil)
            case nil:
                return (false, nil)
            }
        }
        waiter?.resume(returning: acknowledged)
        return known
    }
}

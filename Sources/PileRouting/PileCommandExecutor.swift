/// Runs the commands of one pile one after another, in the order they arrived, while
/// different piles proceed independently.
actor PileCommandExecutor {
    private var tails: [Int: Task<Void, Never>] = [:]

    func enqueue(pileID: Int, _ work: @escaping @Sendable () async -> Void) {
        let previous = tails[pileID]
        let task = Task {
            await previous?.value
            await work()
        }
        tails[pileID] = task
    }
}

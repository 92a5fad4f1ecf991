import Foundation

/// The dedicated thread behind one connection, where its blocking libpq calls run, so
/// they never block Swift's cooperative pool.
///
/// It is also a `TaskExecutor`: `PostgresPool.withConnection` runs its body with this
/// executor preferred, so the task itself lives on the connection's thread and each
/// query runs inline, without a thread hop there and back (as pgbench's client threads
/// do). Calls from any other thread are queued to it and awaited.
final class ConnectionExecutor: TaskExecutor, @unchecked Sendable {
    private enum Work: Sendable {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    // `queue` and `stopping` are guarded by `condition`; `thread` is written once in init.
    private let condition = NSCondition()
    private var queue: [Work] = []
    private var stopping = false
    private var exited = false
    private var thread = pthread_t()

    init() {
        let box = Unmanaged.passRetained(self)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        // The thread holds the executor until stop(): a connection's calls always have somewhere to run.
        let created = pthread_create(&thread, &attributes, { context in
            let executor = Unmanaged<ConnectionExecutor>.fromOpaque(context!).takeRetainedValue()
            executor.runLoop()
            return nil
        }, box.toOpaque())
        precondition(created == 0, "cannot start a connection thread: \(created)")
        pthread_detach(thread)
    }

    /// True on the connection's own thread, where blocking libpq calls may run inline.
    var isCurrent: Bool {
        pthread_equal(pthread_self(), thread) != 0
    }

    /// Runs `body` on the connection's thread: inline when already there, else queued.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        if isCurrent { return try body() }
        return try await withCheckedThrowingContinuation { continuation in
            submit(.closure { continuation.resume(with: Swift.Result(catching: body)) })
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Lets the thread end once its queue is empty.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func submit(_ work: Work) {
        condition.lock()
        guard !exited else {
            condition.unlock()
            // Only after stop(), e.g. a task that still prefers this executor: run it elsewhere.
            DispatchQueue.global().async { self.perform(work) }
            return
        }
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    private func perform(_ work: Work) {
        switch work {
        case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
        case .closure(let closure): closure()
        }
    }

    private func runLoop() {
        var batch: [Work] = []
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                condition.wait()
            }
            if queue.isEmpty {
                exited = true
                condition.unlock()
                return
            }
            swap(&batch, &queue)
            condition.unlock()
            for work in batch {
                perform(work)
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

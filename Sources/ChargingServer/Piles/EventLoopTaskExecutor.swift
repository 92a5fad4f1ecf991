import NIOCore

/// Runs a task's jobs on a NIO event loop. A pile socket's events are applied by a task that prefers its
/// channel's event loop: the frame that woke the loop is handled there without waking a thread of the
/// cooperative pool, and the answer is written without waking the loop again (a write from another
/// thread does). The task still leaves for a database connection's own thread around each query
/// (`PostgresPool.withConnection`). Nothing run there may block: the loop serves other sockets.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

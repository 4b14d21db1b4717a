import Foundation

/// `first` on the calling thread while `second` runs on a thread of its own; returns when
/// both have. For two jobs of different kinds (a serial read beside parsing, a status
/// check beside the reading). Not `DispatchQueue.concurrentPerform`: inside it, each
/// job's own `concurrentMap` would get one core.
public func concurrently<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
    withoutActuallyEscaping(second) { second in
        let job = SideJob(second)
        Thread.detachNewThread { job.run() }
        let a = first()
        return (a, job.wait())
    }
}

/// The second job of `concurrently`. It lets go of the closure before it signals: the
/// closure must not outlive the call, though the thread that ran it may.
private final class SideJob<Result>: @unchecked Sendable {
    private var work: (() -> Result)?
    private var result: Result?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping () -> Result) {
        self.work = work
    }

    func run() {
        result = work!()
        work = nil
        done.signal()
    }

    /// The result, once `run` has finished (the semaphore orders its writes before this read).
    func wait() -> Result {
        done.wait()
        return result!
    }
}

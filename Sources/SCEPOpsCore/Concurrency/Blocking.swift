import Foundation

/// Blocking work (a SQLite file opened and migrated, a child process, a socket read) for async
/// code, run on a thread of its own rather than a cooperative one. Swift's pool has as many
/// threads as cores, and a thread blocked in it is lost to every task of the process until
/// the work ends. Not on Dispatch's global queue either: its pool is as small, and a CI run
/// hung with two such items waiting and no Dispatch thread left to run them.
public enum Blocking {
    public static func run<T: Sendable, Failure: Error>(
        _ work: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Failure>, Never>) in
            onOwnThread { continuation.resume(returning: Result { () throws(Failure) in try work() }) }
        }
        return try result.get()
    }

    /// Starts `work` on a new thread, for blocking work that synchronous code waits on.
    public static func onOwnThread(_ work: @escaping @Sendable () -> Void) {
        Thread { work() }.start()
    }
}

import Foundation

/// Blocking work (a child process, a readiness poll, a socket read) for async code, run on a
/// thread of its own rather than a cooperative one. Swift's pool has as many threads as
/// cores, and a thread blocked in it is lost to every task of the test process until the work
/// ends. Not on Dispatch's global queue either: its pool is as small, and a CI run hung with
/// two such items waiting and no Dispatch thread left to run them.
public enum Blocking {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            onOwnThread { continuation.resume(returning: work()) }
        }
    }

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            onOwnThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Starts `work` on a new thread, for blocking work that synchronous code waits on.
    public static func onOwnThread(_ work: @escaping @Sendable () -> Void) {
        Thread { work() }.start()
    }
}

import Foundation

/// Blocking work (a child process, a readiness poll) for async code, run on a Dispatch
/// thread rather than a cooperative one. Swift's pool has as many threads as cores, and a
/// thread blocked in it is lost to every task of the test process until the work ends.
public enum Blocking {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}

import Foundation

/// Tests stop an apply inside its transaction to kill it there: with
/// `SCEPOPS_TEST_HOLD_APPLY=FILE`, the apply writes FILE and waits, uncommitted, until FILE
/// is removed (at most a minute).
enum TestHold {
    static func pause() throws {
        guard let marker = ProcessInfo.processInfo.environment["SCEPOPS_TEST_HOLD_APPLY"] else { return }
        _ = FileManager.default.createFile(atPath: marker, contents: Data("inside the apply transaction\n".utf8))
        for _ in 0..<600 where FileManager.default.fileExists(atPath: marker) {
            usleep(100_000)
        }
    }
}

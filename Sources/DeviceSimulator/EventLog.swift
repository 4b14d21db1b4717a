import Foundation

/// What the simulated hosts did, one JSON object a line (`--events FILE`), for a test to
/// check order and content: installs with the certificate each got, removals, errors.
final class EventLog: @unchecked Sendable {
    private let handle: FileHandle?
    private let lock = NSLock()

    init(path: String?) throws {
        guard let path else {
            handle = nil
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func record(_ host: String, _ event: String, _ fields: [String: Any] = [:]) {
        guard let handle else { return }
        var object = fields
        object["host"] = host
        object["event"] = event
        object["time"] = Date().timeIntervalSince1970
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        handle.write(line)
    }
}

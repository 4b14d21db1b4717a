import Foundation
import SCEPOpsCore

/// A folder under the system's temp directory, removed when the value is released. Tests
/// build real config repos (and real git repos) in it.
public final class TempRepo: @unchecked Sendable {
    public let path: String

    public init() {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("scepops-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    public func url(_ relative: String) -> URL {
        URL(fileURLWithPath: path).appendingPathComponent(relative)
    }

    public func write(_ relative: String, _ content: String) {
        write(relative, Data(content.utf8))
    }

    public func write(_ relative: String, _ data: Data) {
        let url = url(relative)
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! data.write(to: url)
    }

    public func write(_ files: [String: String]) {
        for (relative, content) in files { write(relative, content) }
    }

    public func remove(_ relative: String) {
        try? FileManager.default.removeItem(at: url(relative))
    }

    public func symlink(_ relative: String, to target: String) {
        let url = url(relative)
        try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    /// A sparse file of `size` bytes: large on paper, nothing on disk.
    public func sparseFile(_ relative: String, size: UInt64) {
        write(relative, Data())
        let handle = try! FileHandle(forWritingTo: url(relative))
        try! handle.truncate(atOffset: size)
        try! handle.close()
    }

    /// Runs git in this folder (or `directory` below it) and returns its standard output.
    @discardableResult
    public func git(_ arguments: String..., in directory: String? = nil) -> String {
        git(arguments, in: directory)
    }

    /// `git` for async code, off the cooperative threads (`Blocking`).
    @discardableResult
    public func git(_ arguments: String..., in directory: String? = nil) async -> String {
        await Blocking.run { self.git(arguments, in: directory) }
    }

    private func git(_ arguments: [String], in directory: String?) -> String {
        let result = Command.run(
            "/usr/bin/git", arguments, directory: directory.map { path + "/" + $0 } ?? path,
            environment: Self.gitEnvironment)
        precondition(result.status == 0, "git \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `git init` and one commit of everything, on branch main.
    public func commitAll(_ message: String = "config") {
        if !FileManager.default.fileExists(atPath: path + "/.git") { git("init", "-q", "-b", "main") }
        git("add", "-A")
        git("commit", "-q", "-m", message)
    }

    /// `commitAll` for async code, off the cooperative threads.
    public func commitAll(_ message: String = "config") async {
        await Blocking.run { self.commitAll(message) }
    }

    /// Deterministic, isolated from the developer's own git config.
    static let gitEnvironment: [String: String] = [
        "GIT_AUTHOR_NAME": "scepops tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "scepops tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory(),
    ]
}

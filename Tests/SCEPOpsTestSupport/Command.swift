import Foundation
import SCEPOpsCore

/// Runs a program to completion and captures what it printed.
public enum Command {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The environment is replaced, not merged, apart from PATH, so tests say exactly
    /// which variables a run sees.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String] = [:]
    ) -> Result {
        do {
            return try start(executable, arguments, directory: directory, environment: environment).wait()
        } catch {
            return Result(status: -1, stdout: "", stderr: "cannot start \(executable): \(error)")
        }
    }

    /// `run` for async code: the blocking wait is on a thread of its own (`Blocking`).
    /// Swift prefers this overload in an async context, so no async test holds one of the
    /// few cooperative threads while a child runs: on two cores there are two, and a
    /// blocked one starves every in-process server and database pool of the tests beside it.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String] = [:]
    ) async -> Result {
        await Blocking.run { run(executable, arguments, directory: directory, environment: environment) }
    }

    /// A started child process, waited for or killed by the test that started it.
    public final class Running: @unchecked Sendable {
        public let process: Process
        let stdout: Pipe
        let stderr: Pipe

        init(process: Process, stdout: Pipe, stderr: Pipe) {
            self.process = process
            self.stdout = stdout
            self.stderr = stderr
        }

        public var pid: Int32 { process.processIdentifier }

        public func kill(_ signal: Int32 = SIGKILL) {
            if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
        }

        public func wait() -> Result {
            let group = DispatchGroup()
            nonisolated(unsafe) var errorData = Data()
            group.enter()
            Blocking.onOwnThread {
                errorData = self.stderr.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
            let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            let status = process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
            return Result(
                status: status, stdout: String(decoding: outputData, as: UTF8.self),
                stderr: String(decoding: errorData, as: UTF8.self))
        }

        /// `wait` off the cooperative threads, for async code.
        public func wait() async -> Result {
            await Blocking.run { self.wait() }
        }

        deinit {
            kill()
            if process.isRunning { process.waitUntilExit() }
        }
    }

    /// Starts a program without waiting for it.
    public static func start(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String] = [:]
    ) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = environment
        env["PATH"] = env["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stdout: out, stderr: err)
    }

    /// The `scepops` binary built beside the test bundle (or `$SCEPOPS_BIN`).
    public static var scepops: String {
        if let path = ProcessInfo.processInfo.environment["SCEPOPS_BIN"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("scepops").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return ".build/debug/scepops"
    }

    /// The package root, found from this source file's location.
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}

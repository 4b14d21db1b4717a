import Foundation
import SCEPOpsTestSupport

/// `scepops serve` as a process of the test's, on a free loopback port, its output in a
/// file (a pipe nobody reads could fill and stall it). Killed by its pid when released.
final class ServeProcess: @unchecked Sendable {
    let port: Int
    let logPath: String
    private let process: Command.Running
    private let scheme: String
    var url: String { "\(scheme)://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.process.isRunning }

    /// Starts serve on `db` with `arguments` and waits until its /healthz answers. With
    /// `tls` (a certificate for 127.0.0.1 and its key), both listeners speak TLS.
    init(
        db: String, arguments: [String], directory: String, environment: [String: String], log name: String = "serve.log",
        tls: (certificate: String, key: String)? = nil
    ) throws {
        port = try FreePort.pick()
        logPath = directory + "/" + name
        scheme = tls == nil ? "http" : "https"
        let tlsArguments = tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []
        process = try Command.start(
            "/bin/bash",
            ["-c", "exec \"$@\" > \"$0\" 2>&1", logPath, Command.scepops, "serve", "--db", db, "--listen", "127.0.0.1:\(port)"]
                + tlsArguments + arguments, directory: directory, environment: environment)
        let trust = tls.map { ["--cacert", $0.certificate] } ?? []
        for _ in 0..<150 {
            if Command.run("/usr/bin/curl", ["-sf", "--max-time", "1", "-o", "/dev/null"] + trust + [url + "/healthz"]).status == 0 { return }
            guard process.process.isRunning else { break }
            usleep(100_000)
        }
        throw SCEPServer.Failure(message: "serve did not come up: \(log.suffix(1500))")
    }

    /// SIGKILL: a replica that dies with no chance to tidy up.
    func kill() {
        process.kill()
        _ = process.wait()
    }

    deinit { kill() }
}

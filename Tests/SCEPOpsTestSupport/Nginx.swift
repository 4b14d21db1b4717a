import Foundation

/// Debian's nginx in the foreground with a configuration of the test's, its prefix (pid,
/// logs, temp files) in a temp folder. Stopped by its master's pid when released: SIGTERM,
/// so that its workers go with it.
public final class Nginx: @unchecked Sendable {
    public let folder = TempRepo()
    private let process: Command.Running

    /// Starts nginx on `configuration` and waits until `readyURL` answers through it (an
    /// https one checked against `trust`, a PEM file).
    public init(configuration: String, readyURL: String, trust: String? = nil) throws {
        folder.write("nginx.conf", configuration)
        process = try Command.start(
            "/bin/bash", ["-c", "exec /usr/sbin/nginx -p \"$0/\" -c nginx.conf -e error.log -g 'daemon off;' > nginx.out 2>&1", folder.path],
            directory: folder.path)
        for _ in 0..<100 {
            let cacert = trust.map { ["--cacert", $0] } ?? []
            if Command.run("/usr/bin/curl", ["-sf", "--max-time", "1", "-o", "/dev/null"] + cacert + [readyURL]).status == 0 { return }
            guard process.process.isRunning else { break }
            usleep(100_000)
        }
        throw SCEPServer.Failure(message: "nginx did not come up: \(log)")
    }

    /// nginx's own errors: what it made of each upstream.
    public var log: String {
        ((try? String(contentsOfFile: folder.path + "/nginx.out", encoding: .utf8)) ?? "")
            + ((try? String(contentsOfFile: folder.path + "/error.log", encoding: .utf8)) ?? "")
    }

    deinit {
        process.kill(SIGTERM)
        _ = process.wait()
    }
}

import Foundation
import SCEPOpsTestSupport
import Testing

/// serve's flags from the environment and a `--config` file, and what it refuses before it
/// opens (or creates) anything.
@Suite("Serve settings and start-up checks")
struct ServeSettingsTests {
    let work: TempRepo

    init() { work = TempRepo() }

    func serve(_ arguments: [String], environment: [String: String] = [:]) -> Command.Result {
        Command.run(Command.scepops, ["serve", "--db", work.path + "/state.db"] + arguments, directory: work.path, environment: environment)
    }

    /// Nothing is created by a start that is refused.
    func expectNothingCreated() throws {
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix("state.db") }.isEmpty)
    }

    @Test func everyFlagInServesHelpIsAKeyOfTheConfigFile() throws {
        let help = Command.run(Command.scepops, ["serve", "--help"]).stdout
        let flags = Set(help.matches(of: /--([a-z][a-z0-9-]+)/).map { String($0.1) }).subtracting(["help", "version", "config"])
        try "bogus: 1\n".write(toFile: work.path + "/serve.yaml", atomically: true, encoding: .utf8)
        let refused = serve(["--config", work.path + "/serve.yaml"])
        #expect(refused.status == 1)
        let allowed = try #require(refused.stderr.firstMatch(of: /\(allowed: ([^)]+)\)/)).1
        #expect(Set(allowed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == flags)
        #expect(refused.stderr.contains("serve.yaml:1:1: error[unknown-key]"), "\(refused.stderr)")
        try expectNothingCreated()
    }

    @Test func configFileErrorsNameTheLineAndSuggest() throws {
        try "listen: 127.0.0.1:1\nworker-intervl: 5s\nadmin-trusted-proxy: [{a: b}]\n".write(
            toFile: work.path + "/serve.yaml", atomically: true, encoding: .utf8)
        let refused = serve(["--config", "serve.yaml"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(#"serve.yaml:2:1: error[unknown-key]: unknown key "worker-intervl"; did you mean "worker-interval"?"#), "\(refused.stderr)")
        #expect(refused.stderr.contains("serve.yaml:3:"), "\(refused.stderr)")
        let missing = serve(["--config", "nope.yaml"])
        #expect(missing.status == 1 && missing.stderr.contains("nope.yaml: error[file-unreadable]: the config file is not found"), "\(missing.stderr)")
        try expectNothingCreated()
    }

    @Test func commandLineBeatsEnvironmentBeatsFile() throws {
        let port = try FreePort.pick()
        // The file's listen is bad, the environment's good: the environment wins. The
        // environment's worker interval is bad, the command line's good: the command line wins.
        try "listen: not-an-address\nrenewal-interval: 5m\nmax-connections: ${MAX_CONNECTIONS}\n".write(
            toFile: work.path + "/serve.yaml", atomically: true, encoding: .utf8)
        let process = try Command.start(
            "/bin/bash", ["-c", "exec \"$@\" > serve.log 2>&1", "serve", Command.scepops, "serve", "--db", "state.db", "--worker-interval", "1s"],
            directory: work.path,
            environment: [
                "SCEPOPS_CONFIG": "serve.yaml", "SCEPOPS_LISTEN": "127.0.0.1:\(port)", "SCEPOPS_WORKER_INTERVAL": "never",
                "MAX_CONNECTIONS": "50",
            ])
        defer {
            process.kill()
            _ = process.wait()
        }
        var up = false
        for _ in 0..<100 where !up {
            up = Command.run("/usr/bin/curl", ["-sf", "--max-time", "1", "http://127.0.0.1:\(port)/healthz"]).stdout == "ok\n"
            if !up { usleep(100_000) }
        }
        let log = (try? String(contentsOfFile: work.path + "/serve.log", encoding: .utf8)) ?? ""
        #expect(up, "serve did not listen where SCEPOPS_LISTEN says: \(log)")
    }

    @Test func aBadEnvironmentValueIsRefusedLikeAFlag() throws {
        let refused = serve([], environment: ["SCEPOPS_RENEWAL_INTERVAL": "soon"])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: The value 'soon' is invalid for '--renewal-interval"), "\(refused.stderr)")
        try expectNothingCreated()
    }

    @Test(arguments: [
        (["--device-ca", "missing.pem"], "error: --device-ca missing.pem: not found"),
        (["--apns-cert", "push.pem"], "error: --apns-cert and --apns-key go together"),
        (["--apns-key", "push.key"], "error: --apns-cert and --apns-key go together"),
        (["--server-url", "mdm.example.com"], "error: --server-url must be an absolute http(s) URL"),
        (["--server-url", "ftp://mdm.example.com"], "error: --server-url must be an absolute http(s) URL"),
        (["--listen", "8080"], #"error: --listen must be HOST:PORT, e.g. 127.0.0.1:8080, found "8080""#),
        (["--apns-endpoint", "http://127.0.0.1:2197"], "error: --apns-endpoint must be an https URL with no path"),
        (["--tls-cert", "missing.pem", "--tls-key", "missing.key"], "error: --tls-cert missing.pem: not found"),
        (["--worker-interval", "0"], "error: --worker-interval must be a duration above zero"),
    ])
    func misconfigurationIsRefusedBeforeAnythingIsCreated(_ arguments: [String], _ message: String) throws {
        let refused = serve(arguments)
        #expect(refused.status == 1)
        let errors = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
        #expect(errors.count == 1 && errors[0].hasPrefix(message), "\(refused.stderr)")
        #expect(!refused.stderr.contains("Error:"), "no doubled prefix: \(refused.stderr)")
        try expectNothingCreated()
    }

    @Test func aPortInUseIsSaidInPlainWords() throws {
        let listener = try Command.start("/usr/bin/python3", ["-m", "http.server", "0", "--bind", "127.0.0.1"], directory: work.path)
        defer {
            listener.kill()
            _ = listener.wait()
        }
        // Find the port python picked from /proc: its one listening socket.
        var port: Int?
        for _ in 0..<50 where port == nil {
            port = Self.listeningPort(pid: listener.process.processIdentifier)
            if port == nil { usleep(100_000) }
        }
        let taken = try #require(port)
        let refused = serve(["--listen", "127.0.0.1:\(taken)"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("error: --listen 127.0.0.1:\(taken): the port is already in use by another process"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("bind(descriptor"), "\(refused.stderr)")
    }

    /// The port of a process's listening TCP socket, from /proc/net/tcp and its fds.
    static func listeningPort(pid: Int32) -> Int? {
        let inodes = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)"))?.firstMatch(of: /socket:\[(\d+)\]/).map { String($0.1) }
            })
        let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
            return Int(fields[1].split(separator: ":")[1], radix: 16)
        }
        return nil
    }
}

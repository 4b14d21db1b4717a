import Foundation
import SCEPOpsTestSupport
import Testing

/// examples/deploy: the systemd unit passes `systemd-analyze verify`, serve reads the
/// settings file, and the nginx TLS front passes `nginx -t` and carries requests to a live
/// serve (device listener and admin API), with the headers serve relies on.
@Suite("Deploy examples")
struct DeployExamplesTests {
    let work = TempRepo()
    static let folder = Command.packageRoot + "/examples/deploy"

    func example(_ name: String) throws -> String {
        try String(contentsOfFile: Self.folder + "/" + name, encoding: .utf8)
    }

    @Test func systemdUnitVerifies() throws {
        // The unit as installed, but with this build's binary and an env file that exists.
        let unit = try example("scepops.service")
            .replacingOccurrences(of: "/opt/scepops/bin/scepops", with: Command.scepops)
            .replacingOccurrences(of: "/etc/scepops/scepops.env", with: work.path + "/scepops.env")
        #expect(unit.contains("ExecStart=\(Command.scepops) serve --config /etc/scepops/serve.yaml"))
        work.write("scepops.env", try example("scepops.env"))
        work.write("scepops.service", unit)
        let verified = Command.run("/usr/bin/systemd-analyze", ["verify", "--man=no", work.path + "/scepops.service"])
        #expect(verified.status == 0 && verified.stderr.isEmpty, "\(verified.stderr)")
    }

    @Test func serveReadsTheSettingsFile() throws {
        // Every key is one serve knows: the first thing it trips on is the missing device CA.
        let refused = Command.run(Command.scepops, ["serve", "--config", Self.folder + "/serve.yaml"], directory: work.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("error: --device-ca /etc/scepops/device-ca.pem: not found"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("unknown-key"), "\(refused.stderr)")
    }

    @Test func nginxFrontPassesItsCheckAndReachesServe() throws {
        let made = Command.run(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.pem", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], directory: work.path)
        try #require(made.status == 0, "\(made.stderr)")
        let adminPort = try FreePort.pick()
        let serve = try ServeProcess(
            db: work.path + "/state.db", arguments: ["--admin-listen", "127.0.0.1:\(adminPort)"], directory: work.path,
            environment: [:])
        defer { serve.kill() }
        let devices = try FreePort.pick()
        let admin = try FreePort.pick()
        let front = try example("nginx.conf")
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(serve.port)")
            .replacingOccurrences(of: "127.0.0.1:8443", with: "127.0.0.1:\(adminPort)")
            .replacingOccurrences(of: "listen 443 ssl", with: "listen 127.0.0.1:\(devices) ssl")
            .replacingOccurrences(of: "listen 9443 ssl", with: "listen 127.0.0.1:\(admin) ssl")
            .replacingOccurrences(of: "/etc/nginx/tls/mdm.example.com.pem", with: work.path + "/tls.pem")
            .replacingOccurrences(of: "/etc/nginx/tls/mdm.example.com.key", with: work.path + "/tls.key")
        // The include's surroundings: what /etc/nginx/nginx.conf gives it, in a prefix of the test's.
        let configuration = """
            worker_processes 1;
            pid nginx.pid;
            events { worker_connections 64; }
            http {
                client_body_temp_path client_body_temp;
                proxy_temp_path proxy_temp;
                fastcgi_temp_path fastcgi_temp;
                uwsgi_temp_path uwsgi_temp;
                scgi_temp_path scgi_temp;
            \(front)
            }
            """
        let checkFolder = TempRepo()
        checkFolder.write("nginx.conf", configuration)
        let checked = Command.run("/usr/sbin/nginx", ["-t", "-p", checkFolder.path + "/", "-c", "nginx.conf", "-e", "error.log"])
        #expect(checked.status == 0 && checked.stderr.contains("test is successful"), "\(checked.stderr)")

        let nginx = try Nginx(configuration: configuration, readyURL: "https://127.0.0.1:\(devices)/healthz", trust: work.path + "/tls.pem")
        let health = Command.run("/usr/bin/curl", ["-s", "--cacert", work.path + "/tls.pem", "https://127.0.0.1:\(devices)/healthz"])
        #expect(health.stdout == "ok\n", "\(health.stderr) \(nginx.log)")
        // The admin API through its TLS front: a call without a token is refused by serve itself.
        let status = Command.run(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", work.path + "/tls.pem", "https://127.0.0.1:\(admin)/v1/status"])
        #expect(status.stdout == "401", "\(status.stdout) \(nginx.log)")
        // Through the TLS front without --server-url: one warning, however many requests.
        _ = Command.run("/usr/bin/curl", ["-s", "--cacert", work.path + "/tls.pem", "https://127.0.0.1:\(devices)/healthz"])
        let warnings = serve.log.components(separatedBy: "X-Forwarded-Proto: https) but --server-url is not set").count - 1
        #expect(warnings == 1, "\(serve.log)")
    }
}

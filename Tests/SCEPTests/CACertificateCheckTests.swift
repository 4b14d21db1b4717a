import AsyncHTTPClient
import Foundation
import SCEP
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

@Suite("GetCACert and the certificates it returns")
struct CACertificateCheckTests {
    @Test func aRealScepserverAnswersWithItsCA() async throws {
        let server = try await SCEPServer.started()
        let client = SCEPHTTPClient.makeHTTPClient()
        let result = await CACertificateCheck(client: client, timeout: .seconds(10)).fetch(server.url)
        try await client.shutdown()
        let certificate = try result.get()
        #expect(certificate.summary.subject == "OU=SCEP CA,O=scep-ca,C=US")
        #expect(certificate.summary.fingerprint.count == 64)
        #expect(certificate.summary.notAfter.hasSuffix("Z"))
        #expect(certificate.der.first == 0x30)
    }

    @Test func aPKCS7BundleOfCAAndRAPutsTheCAFirst() async throws {
        let folder = TempRepo()
        let openssl = "/usr/bin/openssl"
        func run(_ arguments: [String]) async {
            let result = await Command.run(openssl, arguments, directory: folder.path)
            precondition(result.status == 0, result.stderr)
        }
        await run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", "/CN=Test Root CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        await run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "ra.key", "-out", "ra.csr", "-subj", "/CN=Test RA"])
        await run(["x509", "-req", "-in", "ra.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "ra.pem",
            "-days", "30"])
        // The RA first in the bundle: the parser must still find the CA.
        await run(["crl2pkcs7", "-nocrl", "-certfile", "ra.pem", "-certfile", "ca.pem", "-outform", "DER", "-out", "bundle.p7b"])
        let bundle = try #require(FileManager.default.contents(atPath: folder.path + "/bundle.p7b"))
        let certificates = try CertificateParser.certificates(in: [UInt8](bundle))
        #expect(certificates.map(\.summary.subject) == ["CN=Test Root CA", "CN=Test RA"])
    }

    @Test func garbageIsRefused() {
        #expect(throws: CertificateParser.Failure.self) { _ = try CertificateParser.certificates(in: Array("<html>".utf8)) }
        #expect(throws: CertificateParser.Failure.self) { _ = try CertificateParser.certificates(in: []) }
    }

    @Test func anHTTPErrorIsAFailureThatShowsNoURL() async throws {
        let server = try await SCEPServer.started()
        let client = SCEPHTTPClient.makeHTTPClient()
        let result = await CACertificateCheck(client: client, timeout: .seconds(5))
            .fetch("http://user:pw@127.0.0.1:\(server.port)/nope")
        try await client.shutdown()
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(!failure.message.contains("pw"))
        #expect(!failure.message.contains("127.0.0.1"))
    }

    /// A plan token can name any URL, and the server makes the check: a redirect is not
    /// followed, and an answer over 1 MiB is not read.
    @Test func aRedirectIsNotFollowedAndAnOversizedAnswerIsNotRead() async throws {
        let port = try FreePort.pick()
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_GET(self):
                    if self.path.startswith("/redirect"):
                        self.send_response(302); self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                        self.send_header("Content-Length", "0"); self.end_headers()
                    else:
                        body = b"0" * (2 << 20)
                        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                        self.wfile.write(body)
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
            """
        let server = try Command.start("/usr/bin/python3", ["-c", script, String(port)])
        defer {
            server.kill()
            _ = server.wait()
        }
        let client = SCEPHTTPClient.makeHTTPClient()
        for _ in 0..<50 {
            if await Command.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "--max-time", "1", "http://127.0.0.1:\(port)/redirect"]).status == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let check = CACertificateCheck(client: client, timeout: .seconds(5))
        let redirected = await check.fetch("http://127.0.0.1:\(port)/redirect")
        let oversized = await check.fetch("http://127.0.0.1:\(port)/big")
        try await client.shutdown()
        guard case .failure(let redirect) = redirected, case .failure(let big) = oversized else {
            Issue.record("expected two failures")
            return
        }
        #expect(redirect.message == "GetCACert failed: the CA answered HTTP 302", "\(redirect.message)")
        #expect(big.message == "GetCACert failed: the CA's answer is over 1048576 bytes", "\(big.message)")
    }
}

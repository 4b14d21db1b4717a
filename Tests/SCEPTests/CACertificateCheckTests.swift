import AsyncHTTPClient
import Foundation
import SCEP
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

@Suite("GetCACert and the certificates it returns")
struct CACertificateCheckTests {
    @Test func aRealScepserverAnswersWithItsCA() async throws {
        let server = try SCEPServer()
        let client = SCEPHTTPClient.makeHTTPClient()
        let result = await CACertificateCheck(client: client, timeout: .seconds(10)).fetch(server.url)
        try await client.shutdown()
        let certificate = try result.get()
        #expect(certificate.summary.subject == "OU=SCEP CA,O=scep-ca,C=US")
        #expect(certificate.summary.fingerprint.count == 64)
        #expect(certificate.summary.notAfter.hasSuffix("Z"))
        #expect(certificate.der.first == 0x30)
    }

    @Test func aPKCS7BundleOfCAAndRAPutsTheCAFirst() throws {
        let folder = TempRepo()
        let openssl = "/usr/bin/openssl"
        func run(_ arguments: [String]) {
            let result = Command.run(openssl, arguments, directory: folder.path)
            precondition(result.status == 0, result.stderr)
        }
        run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", "/CN=Test Root CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "ra.key", "-out", "ra.csr", "-subj", "/CN=Test RA"])
        run(["x509", "-req", "-in", "ra.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "ra.pem",
            "-days", "30"])
        // The RA first in the bundle: the parser must still find the CA.
        run(["crl2pkcs7", "-nocrl", "-certfile", "ra.pem", "-certfile", "ca.pem", "-outform", "DER", "-out", "bundle.p7b"])
        let bundle = try #require(FileManager.default.contents(atPath: folder.path + "/bundle.p7b"))
        let certificates = try CertificateParser.certificates(in: [UInt8](bundle))
        #expect(certificates.map(\.summary.subject) == ["CN=Test Root CA", "CN=Test RA"])
    }

    @Test func garbageIsRefused() {
        #expect(throws: CertificateParser.Failure.self) { _ = try CertificateParser.certificates(in: Array("<html>".utf8)) }
        #expect(throws: CertificateParser.Failure.self) { _ = try CertificateParser.certificates(in: []) }
    }

    @Test func anHTTPErrorIsAFailureThatShowsNoURL() async throws {
        let server = try SCEPServer()
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
}

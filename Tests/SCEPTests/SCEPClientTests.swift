import AsyncHTTPClient
import Foundation
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// A SCEP service in front of another that can replay or alter the CA's answers: how a
/// client's checks on a CertRep are put to the test with real messages.
final class TamperingService: SCEPService, @unchecked Sendable {
    let inner: any SCEPService
    var replay: SCEPMessage?
    var flipByte: Int?
    private(set) var lastAnswer: SCEPMessage?

    init(_ inner: any SCEPService) { self.inner = inner }

    func getCACaps() async throws(SCEPUpstreamError) -> SCEPMessage { try await inner.getCACaps() }
    func getCACert(message: String?) async throws(SCEPUpstreamError) -> SCEPMessage { try await inner.getCACert(message: message) }
    func pkiOperation(message: ByteBuffer) async throws(SCEPUpstreamError) -> SCEPMessage {
        var answer = try await inner.pkiOperation(message: message)
        lastAnswer = answer
        if let replay { return replay }
        if let flipByte {
            var bytes = Array(answer.body.readableBytesView)
            bytes[bytes.count - flipByte] ^= 0xFF
            answer.body = ByteBuffer(bytes: bytes)
        }
        return answer
    }
}

@Suite("The SCEP client against a real scepserver")
struct SCEPClientTests {
    let server: SCEPServer
    let client = HTTPClient.shared

    init() async throws {
        server = try await SCEPServer.started(challenge: "client-test-challenge", allowRenew: 0)
    }

    func scep(_ service: (any SCEPService)? = nil) -> SCEPClient {
        SCEPClient(service: service ?? SCEPHTTPClient(client: client, url: server.url, timeout: .seconds(10)))
    }

    func request(_ commonName: String, challenge: String = "client-test-challenge", keySize: Int = 2048) -> SCEPRequest {
        SCEPRequest(
            subject: [.init("C", "US"), .init("O", "Example Inc."), .init("OU", "fleet-renewal-1"), .init("CN", commonName)],
            challenge: challenge, keySize: keySize, keyUsage: 5)
    }

    @Test func capsCACertAndAnEnrollmentTheCAIssued() async throws {
        let caps = try await scep().capabilities()
        #expect(caps.isSuperset(of: ["POSTPKIOperation", "AES", "SHA-256"]))
        #expect(try await scep().caCertificates().first?.summary.subject == "OU=SCEP CA,O=scep-ca,C=US")

        let enrollment = try await scep().enroll(request("device-1"))
        #expect(enrollment.summary.subject == "CN=device-1,OU=fleet-renewal-1,O=Example Inc.,C=US")
        #expect(enrollment.issuer == "OU=SCEP CA,O=scep-ca,C=US")
        #expect(enrollment.key.bits == 2048)
        // openssl agrees: the CA issued it, and the key is its key.
        let folder = TempRepo()
        folder.write("cert.der", Data(enrollment.certificate))
        folder.write("key.pem", Data(enrollment.key.pem))
        let pem = await Command.run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem"], directory: folder.path)
        #expect(pem.status == 0)
        let verify = await Command.run("/usr/bin/openssl", ["verify", "-CAfile", server.caCertificatePath, "cert.pem"], directory: folder.path)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let modulus = { (arguments: [String]) in Command.run("/usr/bin/openssl", arguments, directory: folder.path).stdout }
        #expect(modulus(["x509", "-in", "cert.pem", "-noout", "-modulus"]) == modulus(["rsa", "-in", "key.pem", "-noout", "-modulus"]))
        #expect(server.count("PKIOperation") == 1)

        // A 1024-bit key when the payload asks for one; the same subject again (-allowrenew 0).
        #expect(try await scep().enroll(request("device-1", keySize: 1024)).key.bits == 1024)
    }

    @Test func aWrongChallengeIsAFailureWithItsFailInfo() async throws {
        await #expect(throws: SCEPClientError.failure(failInfo: "badRequest")) {
            try await scep().enroll(request("device-2", challenge: "not-the-challenge"))
        }
    }

    @Test func aReplayedOrAlteredCertRepIsRefused() async throws {
        let tampering = TamperingService(SCEPHTTPClient(client: client, url: server.url, timeout: .seconds(10)))
        _ = try await scep(tampering).enroll(request("device-3"))
        // The CA's genuine answer to another request: wrong transaction, wrong nonce.
        tampering.replay = tampering.lastAnswer
        do {
            _ = try await scep(tampering).enroll(request("device-4"))
            Issue.record("a replayed CertRep was accepted")
        } catch {
            guard case .badReply(let why) = error else { throw error }
            #expect(why.contains("transactionID"))
        }
        // A byte of the signature changed.
        tampering.replay = nil
        tampering.flipByte = 20
        do {
            _ = try await scep(tampering).enroll(request("device-5"))
            Issue.record("an altered CertRep was accepted")
        } catch {
            guard case .badReply(let why) = error else { throw error }
            #expect(why.contains("signature"))
        }
    }
}

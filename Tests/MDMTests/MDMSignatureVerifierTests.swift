import Foundation
import MDM
import SCEPOpsTestSupport
import Testing

/// Mdm-Signature checks with identities a real scepserver issued.
@Suite("Mdm-Signature verification")
struct MDMSignatureVerifierTests {
    let body = Array("<plist><dict><key>MessageType</key><string>Authenticate</string></dict></plist>".utf8)

    @Test func aDeviceSignatureFromTheDeviceCAVerifies() throws {
        let ca = try SCEPServer(challenge: "identity")
        let device = try DeviceIdentity(from: ca, commonName: "DEVICE-1")
        let verifier = try MDMSignatureVerifier(caPEM: try String(contentsOfFile: ca.caCertificatePath, encoding: .utf8))
        let identity = try verifier.verify(header: try device.signature(for: body), body: body)
        #expect(identity.subject.contains("CN=DEVICE-1"))
        let der = Command.run("/usr/bin/openssl", ["x509", "-in", device.certificatePath, "-outform", "DER", "-out", device.folder.path + "/c.der"])
        #expect(der.status == 0)
        let fingerprint = Command.run("/usr/bin/openssl", ["dgst", "-sha256", "-r", device.folder.path + "/c.der"]).stdout
        #expect(fingerprint.hasPrefix(identity.fingerprint))
    }

    @Test func unsignedTamperedForeignAndGarbageAreRefused() throws {
        let ca = try SCEPServer(challenge: "identity")
        let other = try SCEPServer(challenge: "other")
        let device = try DeviceIdentity(from: ca, commonName: "DEVICE-1")
        let stranger = try DeviceIdentity(from: other, commonName: "DEVICE-2")
        let verifier = try MDMSignatureVerifier(caPEM: try String(contentsOfFile: ca.caCertificatePath, encoding: .utf8))
        let signature = try device.signature(for: body)

        #expect(throws: MDMSignatureVerifier.Failure.missing) { try verifier.verify(header: nil, body: body) }
        #expect(throws: MDMSignatureVerifier.Failure.malformed) { try verifier.verify(header: "not base64!", body: body) }
        #expect(throws: MDMSignatureVerifier.Failure.malformed) { try verifier.verify(header: "AAAA", body: body) }
        var tampered = body
        tampered[10] ^= 1
        #expect(throws: MDMSignatureVerifier.Failure.badSignature) { try verifier.verify(header: signature, body: tampered) }
        #expect(throws: MDMSignatureVerifier.Failure.untrusted) {
            try verifier.verify(header: try stranger.signature(for: body), body: body)
        }
    }

    @Test func anIdentityWithoutClientAuthIsRefused() throws {
        let folder = TempRepo()
        func openssl(_ arguments: [String]) {
            let result = Command.run("/usr/bin/openssl", arguments, directory: folder.path)
            precondition(result.status == 0, result.stderr)
        }
        openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Device CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "d.key", "-out", "d.csr", "-subj", "/CN=server-only"])
        try "extendedKeyUsage=serverAuth\n".write(toFile: folder.path + "/ext", atomically: true, encoding: .utf8)
        openssl(["x509", "-req", "-in", "d.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "d.pem",
            "-days", "2", "-extfile", "ext"])
        try Data(body).write(to: URL(fileURLWithPath: folder.path + "/body"))
        openssl(["cms", "-sign", "-binary", "-in", "body", "-signer", "d.pem", "-inkey", "d.key", "-outform", "DER", "-out", "s.p7s"])
        let signature = FileManager.default.contents(atPath: folder.path + "/s.p7s")!.base64EncodedString()
        let verifier = try MDMSignatureVerifier(caPEM: try String(contentsOfFile: folder.path + "/ca.pem", encoding: .utf8))
        #expect(throws: MDMSignatureVerifier.Failure.self) { try verifier.verify(header: signature, body: body) }
    }
}

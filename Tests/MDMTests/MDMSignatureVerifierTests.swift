import Foundation
@testable import MDM
import SCEPOpsTestSupport
import Testing

/// Mdm-Signature checks with identities a real scepserver issued.
@Suite("Mdm-Signature verification")
struct MDMSignatureVerifierTests {
    let body = Array("<plist><dict><key>MessageType</key><string>Authenticate</string></dict></plist>".utf8)

    /// A device CA (a real scepserver) with one device, and a verifier that trusts it; with a
    /// stranger, a device of another CA too.
    private struct Devices {
        let ca: SCEPServer
        let device: DeviceIdentity
        let verifier: MDMSignatureVerifier
        let other: SCEPServer?
        let stranger: DeviceIdentity?

        init(stranger: Bool = false) async throws {
            ca = try await SCEPServer.started(challenge: "identity")
            device = try await DeviceIdentity.issued(from: ca, commonName: "DEVICE-1")
            verifier = try MDMSignatureVerifier(caPEM: try String(contentsOfFile: ca.caCertificatePath, encoding: .utf8))
            other = stranger ? try await SCEPServer.started(challenge: "other") : nil
            self.stranger = if let other { try await DeviceIdentity.issued(from: other, commonName: "DEVICE-2") } else { nil }
        }
    }

    @Test func aDeviceSignatureFromTheDeviceCAVerifies() async throws {
        let devices = try await Devices()
        let (device, verifier) = (devices.device, devices.verifier)
        let identity = try verifier.verify(header: try await device.signature(for: body), body: body)
        #expect(identity.subject.contains("CN=DEVICE-1"))
        let der = await Command.run("/usr/bin/openssl", ["x509", "-in", device.certificatePath, "-outform", "DER", "-out", device.folder.path + "/c.der"])
        #expect(der.status == 0)
        let fingerprint = await Command.run("/usr/bin/openssl", ["dgst", "-sha256", "-r", device.folder.path + "/c.der"]).stdout
        #expect(fingerprint.hasPrefix(identity.fingerprint))
    }

    @Test func unsignedTamperedForeignAndGarbageAreRefused() async throws {
        let devices = try await Devices(stranger: true)
        let (device, stranger, verifier) = (devices.device, devices.stranger!, devices.verifier)
        let signature = try await device.signature(for: body)

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

    @Test func anIdentityWithoutClientAuthIsRefused() async throws {
        let folder = TempRepo()
        func openssl(_ arguments: [String]) async {
            let result = await Command.run("/usr/bin/openssl", arguments, directory: folder.path)
            precondition(result.status == 0, result.stderr)
        }
        await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Device CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "d.key", "-out", "d.csr", "-subj", "/CN=server-only"])
        try "extendedKeyUsage=serverAuth\n".write(toFile: folder.path + "/ext", atomically: true, encoding: .utf8)
        await openssl(["x509", "-req", "-in", "d.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "d.pem",
            "-days", "2", "-extfile", "ext"])
        try Data(body).write(to: URL(fileURLWithPath: folder.path + "/body"))
        await openssl(["cms", "-sign", "-binary", "-in", "body", "-signer", "d.pem", "-inkey", "d.key", "-outform", "DER", "-out", "s.p7s"])
        let signature = FileManager.default.contents(atPath: folder.path + "/s.p7s")!.base64EncodedString()
        let verifier = try MDMSignatureVerifier(caPEM: try String(contentsOfFile: folder.path + "/ca.pem", encoding: .utf8))
        #expect(throws: MDMSignatureVerifier.Failure.self) { try verifier.verify(header: signature, body: body) }
    }

    /// The verifier keeps a device's certificate once its chain passed: later requests skip
    /// parsing it and checking its chain, and still check their own signature.
    @Test func aKeptCertificateStillChecksEverySignature() async throws {
        let devices = try await Devices(stranger: true)
        let (device, stranger, verifier) = (devices.device, devices.stranger!, devices.verifier)
        let first = try verifier.verify(header: try await device.signature(for: body), body: body)
        #expect(verifier.keptCertificates == 1)
        let later = Array("<plist><dict><key>Status</key><string>Idle</string></dict></plist>".utf8)
        let signature = try await device.signature(for: later)
        #expect(try verifier.verify(header: " \(signature)\t", body: later) == first)
        var tampered = later
        tampered[12] ^= 1
        #expect(throws: MDMSignatureVerifier.Failure.badSignature) { try verifier.verify(header: signature, body: tampered) }
        // A message without the certificate names a signer it does not carry, kept or not.
        let unsigned = try await device.signature(for: later, options: ["-nocerts"])
        #expect(throws: MDMSignatureVerifier.Failure.badSignature) { try verifier.verify(header: unsigned, body: later) }
        // A stranger is refused, and not kept.
        #expect(throws: MDMSignatureVerifier.Failure.untrusted) {
            try verifier.verify(header: try stranger.signature(for: later), body: later)
        }
        #expect(verifier.keptCertificates == 1)
    }

    /// BER with indefinite lengths (what `openssl cms -stream` writes) is not split: OpenSSL
    /// reads it whole, and it verifies as before.
    @Test func aStreamedSignatureIsReadWhole() async throws {
        let devices = try await Devices()
        let (device, verifier) = (devices.device, devices.verifier)
        let streamed = try await device.signature(for: body, options: ["-stream"])
        #expect(SignedDataCertificates([UInt8](Data(base64Encoded: streamed)!)) == nil)
        let identity = try verifier.verify(header: streamed, body: body)
        let whole = try await device.signature(for: body)
        #expect(identity == (try verifier.verify(header: whole, body: body)))
    }

    /// The split finds the device's certificate byte for byte, and what is left is the same
    /// message without it (OpenSSL reads it and finds no certificate).
    @Test func theSplitTakesOutExactlyTheCertificates() async throws {
        let ca = try await SCEPServer.started(challenge: "identity")
        let device = try await DeviceIdentity.issued(from: ca, commonName: "DEVICE-1")
        let der = [UInt8](Data(base64Encoded: try await device.signature(for: body))!)
        let split = try #require(SignedDataCertificates(der))
        let folder = TempRepo()
        #expect(await Command.run("/usr/bin/openssl", ["x509", "-in", device.certificatePath, "-outform", "DER", "-out", folder.path + "/c.der"]).status == 0)
        #expect(split.certificates.map(Array.init) == [[UInt8](FileManager.default.contents(atPath: folder.path + "/c.der")!)])
        try Data(split.stripped).write(to: URL(fileURLWithPath: folder.path + "/s.der"))
        let printed = await Command.run("/usr/bin/openssl", ["cms", "-cmsout", "-print", "-inform", "DER", "-in", folder.path + "/s.der"])
        #expect(printed.status == 0)
        #expect(printed.stdout.contains("certificates:\n      <ABSENT>"))
        #expect(printed.stdout.contains("signerInfos:"))
        // The certificate and its field's header (A0 82 and two length bytes); the lengths around keep their size.
        #expect(der.count - split.stripped.count == split.certificates[0].count + 4)
        // Truncated or padded, it is not split.
        #expect(SignedDataCertificates(Array(der.dropLast())) == nil)
        #expect(SignedDataCertificates(der + [0]) == nil)
    }
}

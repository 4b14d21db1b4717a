import Foundation
import SCEPOpsCore

/// A device identity issued by a real scepserver through micromdm's scepclient, and
/// `Mdm-Signature` headers made with it by the openssl command line (CMS, detached).
public final class DeviceIdentity: @unchecked Sendable {
    public let folder = TempRepo()
    public var keyPath: String { folder.path + "/identity.key" }
    public var certificatePath: String { folder.path + "/identity.pem" }

    public init(from server: SCEPServer, commonName: String) throws {
        let result = Command.run(
            "/usr/bin/scepclient",
            ["-server-url", server.url, "-challenge", server.challenge, "-private-key", keyPath, "-certificate",
                certificatePath, "-cn", commonName])
        guard result.status == 0 else { throw SCEPServer.Failure(message: "scepclient failed: \(result.stderr)") }
    }

    /// `init(from:commonName:)` for async code, off the cooperative threads (`Blocking`).
    public static func issued(from server: SCEPServer, commonName: String) async throws -> DeviceIdentity {
        try await Blocking.run { try DeviceIdentity(from: server, commonName: commonName) }
    }

    /// An identity a device already holds (a simulated host's, from its saved state).
    public init(keyPEM: Data, certificateDER: Data) throws {
        try keyPEM.write(to: URL(fileURLWithPath: keyPath))
        try certificateDER.write(to: URL(fileURLWithPath: folder.path + "/identity.der"))
        let result = Command.run(
            "/usr/bin/openssl", ["x509", "-inform", "DER", "-in", folder.path + "/identity.der", "-out", certificatePath])
        guard result.status == 0 else { throw SCEPServer.Failure(message: "openssl x509 failed: \(result.stderr)") }
    }

    /// Base64 of a detached CMS SignedData over `body`, as a device sends it.
    public func signature(for body: [UInt8], options: [String] = []) throws -> String {
        let input = folder.path + "/body-\(UUID().uuidString)"
        try Data(body).write(to: URL(fileURLWithPath: input))
        let output = input + ".p7s"
        let result = Command.run(
            "/usr/bin/openssl",
            ["cms", "-sign", "-binary", "-in", input, "-signer", certificatePath, "-inkey", keyPath, "-outform", "DER",
                "-out", output] + options)
        guard result.status == 0, let signature = FileManager.default.contents(atPath: output) else {
            throw SCEPServer.Failure(message: "openssl cms -sign failed: \(result.stderr)")
        }
        return signature.base64EncodedString()
    }

    /// `signature` for async code, off the cooperative threads.
    public func signature(for body: [UInt8], options: [String] = []) async throws -> String {
        try await Blocking.run { try self.signature(for: body, options: options) }
    }
}

import Foundation

/// A simulated host as kept between runs (`--state DIR`): who it is, its device identity,
/// and the profiles and certificates it holds. Keys are PEM: this is a test device's
/// keychain, never a real one.
struct HostRecord: Codable, Sendable {
    struct HeldCertificate: Codable, Sendable {
        var der: Data
        var keyPEM: Data
        var subject: String
        var issuer: String
        var fingerprint: String
        var notAfter: String
    }

    struct HeldProfile: Codable, Sendable {
        var identifier: String
        var uuid: String
        var displayName: String?
        var certificates: [HeldCertificate]
    }

    var udid: String
    var serial: String
    var identityKeyPEM: Data?
    var identityCertificate: Data?
    var enrolled: Bool
    var profiles: [String: HeldProfile]

    static func new() -> HostRecord {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
        let serial = "SIM" + String((0..<9).map { _ in alphabet.randomElement()! })
        return HostRecord(udid: UUID().uuidString, serial: serial, enrolled: false, profiles: [:])
    }
}

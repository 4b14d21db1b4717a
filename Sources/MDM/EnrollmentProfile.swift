import Foundation

/// The enrollment `.mobileconfig` a device installs to enroll (docs/apple-mdm.md §1,
/// §3): a SCEP payload for the device identity and an MDM payload that names it, signs
/// every message with it, and checks in with the team's enroll secret.
///
/// It holds the enroll secret and the identity SCEP challenge by design: it is what a
/// device presents. Distribute it as the secret it is.
public struct EnrollmentProfile: Sendable {
    public var team: String
    public var serverURL: String
    public var identitySCEPURL: String
    public var identityChallenge: String
    /// The team's opaque check-in reference (`SecretBox.checkInReference`): the check-in
    /// URL lands in every proxy's access log, so it names the team without its secret.
    public var checkInReference: String
    public var topic: String

    public init(
        team: String, serverURL: String, identitySCEPURL: String, identityChallenge: String, checkInReference: String,
        topic: String
    ) {
        self.team = team
        self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        self.identitySCEPURL = identitySCEPURL
        self.identityChallenge = identityChallenge
        self.checkInReference = checkInReference
        self.topic = topic
    }

    public func plist() -> [UInt8] {
        let identityUUID = UUID().uuidString
        let slug = team.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        let scep: [String: Any] = [
            "PayloadType": "com.apple.security.scep",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.scepops.enrollment.\(slug).identity",
            "PayloadUUID": identityUUID,
            "PayloadDisplayName": "Device identity",
            "PayloadContent": [
                "URL": identitySCEPURL,
                "Challenge": identityChallenge,
                "Key Type": "RSA",
                "Keysize": 2048,
                "Key Usage": 5,
                "Subject": [[["CN", "scepops device identity"]]],
            ] as [String: Any],
        ]
        let mdm: [String: Any] = [
            "PayloadType": "com.apple.mdm",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.scepops.enrollment.\(slug).mdm",
            "PayloadUUID": UUID().uuidString,
            "PayloadDisplayName": "Device management",
            "IdentityCertificateUUID": identityUUID,
            "ServerURL": serverURL + "/mdm/apple/command",
            "CheckInURL": serverURL + "/mdm/apple/checkin?team=" + checkInReference,
            "Topic": topic,
            "SignMessage": true,
            "CheckOutWhenRemoved": true,
            "AccessRights": 8191,
        ]
        let profile: [String: Any] = [
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.scepops.enrollment.\(slug)",
            "PayloadUUID": UUID().uuidString,
            "PayloadDisplayName": "scepops enrollment (\(team))",
            "PayloadContent": [scep, mdm],
        ]
        return [UInt8](try! PropertyListSerialization.data(fromPropertyList: profile, format: .xml, options: 0))
    }
}

import Foundation
import SCEP

/// What a device takes from an enrollment profile: the identity SCEP payload that the MDM
/// payload's `IdentityCertificateUUID` names, and where and how to check in.
public struct EnrollmentSettings: Sendable {
    public var identity: SCEPPayload
    public var serverURL: String
    public var checkInURL: String
    public var topic: String

    public enum Failure: Error, CustomStringConvertible {
        case notAProfile
        case missing(String)

        public var description: String {
            switch self {
            case .notAProfile: "the enrollment profile is not an XML plist"
            case .missing(let what): "the enrollment profile has no \(what)"
            }
        }
    }

    public init(profile: [UInt8]) throws(Failure) {
        guard let plist = try? PropertyListSerialization.propertyList(from: Data(profile), format: nil) as? [String: Any] else {
            throw .notAProfile
        }
        let payloads = plist["PayloadContent"] as? [[String: Any]] ?? []
        guard let mdm = payloads.first(where: { $0["PayloadType"] as? String == "com.apple.mdm" }) else {
            throw .missing("com.apple.mdm payload")
        }
        guard let server = mdm["ServerURL"] as? String, let topic = mdm["Topic"] as? String else {
            throw .missing("ServerURL or Topic")
        }
        let identityUUID = mdm["IdentityCertificateUUID"] as? String
        guard
            let scep = payloads.first(where: {
                $0["PayloadType"] as? String == "com.apple.security.scep" && $0["PayloadUUID"] as? String == identityUUID
            }), let identity = SCEPPayload(scep)
        else { throw .missing("SCEP payload for IdentityCertificateUUID") }
        self.identity = identity
        serverURL = server
        checkInURL = mdm["CheckInURL"] as? String ?? server
        self.topic = topic
    }
}

/// A `com.apple.security.scep` payload as a device reads it.
public struct SCEPPayload: Sendable {
    public var url: String
    public var name: String?
    public var request: SCEPRequest

    /// From the payload dict (its `PayloadContent` is a dict); nil without a URL.
    public init?(_ payload: [String: Any]) {
        guard let content = payload["PayloadContent"] as? [String: Any], let url = content["URL"] as? String else { return nil }
        self.url = url
        name = content["Name"] as? String
        // Subject: [[[type, value]], …], one RDN each.
        let subject = (content["Subject"] as? [[[String]]] ?? []).flatMap { $0 }.compactMap { pair in
            pair.count == 2 ? SCEPRequest.Name(pair[0], pair[1]) : nil
        }
        request = SCEPRequest(
            subject: subject, challenge: content["Challenge"] as? String, keySize: content["Keysize"] as? Int ?? 1024,
            keyUsage: content["Key Usage"] as? Int ?? 0)
    }

    /// Apple substitutes these in a subject; so does the simulator.
    func substituting(udid: String, serial: String) -> SCEPPayload {
        var copy = self
        copy.request.subject = request.subject.map { name in
            var value = name.value.replacingOccurrences(of: "%HardwareUUID%", with: udid)
            value = value.replacingOccurrences(of: "%SerialNumber%", with: serial)
            value = value.replacingOccurrences(of: "%ComputerName%", with: "sim-\(serial)")
            return SCEPRequest.Name(name.type, value)
        }
        return copy
    }
}

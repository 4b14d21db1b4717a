import Foundation

/// A check-in message (docs/apple-mdm.md §1), decoded from its plist. The raw bytes
/// stay with the caller, who verified the signature over them.
public enum CheckInMessage: Sendable, Hashable {
    case authenticate(udid: String, topic: String, serialNumber: String?)
    case tokenUpdate(udid: String, topic: String, token: [UInt8], pushMagic: String)
    case checkOut(udid: String)
    /// A MessageType this server does not handle.
    case unsupported(String)

    public enum Failure: Error, Sendable, Hashable {
        case notAPlist
        case missingKey(String)
    }

    public init(plist body: [UInt8]) throws(Failure) {
        guard let dict = try? PropertyListSerialization.propertyList(from: Data(body), format: nil) as? [String: Any] else {
            throw .notAPlist
        }
        func string(_ key: String) throws(Failure) -> String {
            guard let value = dict[key] as? String, !value.isEmpty else { throw .missingKey(key) }
            return value
        }
        switch try string("MessageType") {
        case "Authenticate":
            self = .authenticate(udid: try string("UDID"), topic: try string("Topic"), serialNumber: dict["SerialNumber"] as? String)
        case "TokenUpdate":
            guard let token = dict["Token"] as? Data else { throw .missingKey("Token") }
            self = .tokenUpdate(udid: try string("UDID"), topic: try string("Topic"), token: [UInt8](token), pushMagic: try string("PushMagic"))
        case "CheckOut":
            self = .checkOut(udid: try string("UDID"))
        case let other:
            self = .unsupported(other)
        }
    }
}

/// A device's report on the command channel: its status for the last command and, for
/// some commands, their answer (docs/apple-mdm.md §2).
public struct CommandReport: Sendable {
    public enum Status: String, Sendable, Hashable {
        case acknowledged = "Acknowledged"
        case error = "Error"
        case commandFormatError = "CommandFormatError"
        case idle = "Idle"
        case notNow = "NotNow"
    }

    public var udid: String
    public var status: Status
    public var commandUUID: String?
    /// `LocalizedDescription` of each ErrorChain entry, with its domain and code.
    public var errors: [String]
    /// For a ProfileList answer: the PayloadIdentifier of each profile on the device.
    public var profileList: [String]?
    /// For a CertificateList answer: each certificate's DER and whether it is an identity.
    public var certificateList: [(der: [UInt8], isIdentity: Bool)]?

    public init(plist body: [UInt8]) throws(CheckInMessage.Failure) {
        guard let dict = try? PropertyListSerialization.propertyList(from: Data(body), format: nil) as? [String: Any] else {
            throw .notAPlist
        }
        guard let udid = dict["UDID"] as? String, !udid.isEmpty else { throw .missingKey("UDID") }
        guard let raw = dict["Status"] as? String, let status = Status(rawValue: raw) else { throw .missingKey("Status") }
        self.udid = udid
        self.status = status
        commandUUID = dict["CommandUUID"] as? String
        errors = (dict["ErrorChain"] as? [[String: Any]] ?? []).map { entry in
            let description = entry["LocalizedDescription"] as? String ?? "error"
            let domain = entry["ErrorDomain"] as? String ?? "?"
            let code = (entry["ErrorCode"] as? Int).map(String.init) ?? "?"
            return "\(description) (\(domain) \(code))"
        }
        profileList = (dict["ProfileList"] as? [[String: Any]])?.compactMap { $0["PayloadIdentifier"] as? String }
        certificateList = (dict["CertificateList"] as? [[String: Any]])?.compactMap { entry in
            (entry["Data"] as? Data).map { ([UInt8]($0), entry["IsIdentity"] as? Bool ?? false) }
        }
    }
}

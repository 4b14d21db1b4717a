import Foundation
import SCEPOpsCore

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
        /// A UDID with a control character: the state would not keep it apart from another.
        case controlCharacter(String)
    }

    public init(plist body: [UInt8]) throws(Failure) {
        let dict = try Self.dictionary(body)
        func string(_ key: String) throws(Failure) -> String {
            guard let value = dict[key]?.string, !value.isEmpty else { throw .missingKey(key) }
            return value
        }
        func udid() throws(Failure) -> String {
            try Self.udid(string("UDID"))
        }
        switch try string("MessageType") {
        case "Authenticate":
            self = .authenticate(udid: try udid(), topic: try string("Topic"), serialNumber: dict["SerialNumber"]?.string)
        case "TokenUpdate":
            guard let token = dict["Token"]?.data else { throw .missingKey("Token") }
            self = .tokenUpdate(udid: try udid(), topic: try string("Topic"), token: token, pushMagic: try string("PushMagic"))
        case "CheckOut":
            self = .checkOut(udid: try udid())
        case let other:
            self = .unsupported(other)
        }
    }

    static func udid(_ value: String) throws(Failure) -> String {
        guard !ControlCharacters.present(in: value.utf8) else { throw .controlCharacter("UDID") }
        return value
    }

    /// The message's root dictionary. Devices send XML, read by the plist parser the
    /// profiles use (Foundation's cost an Idle poll about 5 % of its time); anything else
    /// Foundation reads (a binary plist) is read by it and written as XML first.
    static func dictionary(_ body: [UInt8]) throws(Failure) -> PlistNode {
        if let root = try? PlistParser.parse(body), root.entries != nil { return root }
        guard let object = try? PropertyListSerialization.propertyList(from: Data(body), format: nil), object is [String: Any],
            let xml = try? PropertyListSerialization.data(fromPropertyList: object, format: .xml, options: 0),
            let root = try? PlistParser.parse([UInt8](xml)), root.entries != nil
        else { throw .notAPlist }
        return root
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

    /// One ErrorChain entry, in words. Its own function: Swift 6.3's optimizer crashed
    /// (an ownership error) on this written inline in `init`.
    @inline(never)
    static func describe(_ entry: PlistNode) -> String? {
        guard entry.entries != nil else { return nil }
        var code = "?"
        if let number = entry["ErrorCode"], case .integer(let value) = number.value { code = String(value) }
        return "\(entry["LocalizedDescription"]?.string ?? "error") (\(entry["ErrorDomain"]?.string ?? "?") \(code))"
    }

    public init(plist body: [UInt8]) throws(CheckInMessage.Failure) {
        let dict = try CheckInMessage.dictionary(body)
        guard let udid = dict["UDID"]?.string, !udid.isEmpty else { throw .missingKey("UDID") }
        _ = try CheckInMessage.udid(udid)
        guard let raw = dict["Status"]?.string, let status = Status(rawValue: raw) else { throw .missingKey("Status") }
        self.udid = udid
        self.status = status
        commandUUID = dict["CommandUUID"]?.string
        errors = (dict["ErrorChain"]?.elements ?? []).compactMap(Self.describe)
        profileList = dict["ProfileList"]?.elements.flatMap { list in
            list.allSatisfy { $0.entries != nil } ? list.compactMap { $0["PayloadIdentifier"]?.string } : nil
        }
        certificateList = dict["CertificateList"]?.elements.flatMap { list in
            list.allSatisfy { $0.entries != nil }
                ? list.compactMap { entry in entry["Data"]?.data.map { ($0, entry["IsIdentity"]?.bool ?? false) } } : nil
        }
    }
}

import Foundation
import SCEPOpsCore

/// An MDM command as the server sends it: `{CommandUUID, Command: {RequestType, …}}`, an
/// XML plist (docs/apple-mdm.md §2).
public enum MDMCommand: Sendable, Hashable {
    /// `Payload` is the profile's bytes, rendered for the host.
    case installProfile(payload: [UInt8])
    /// `Identifier` is the profile's top-level PayloadIdentifier.
    case removeProfile(identifier: String)
    case profileList
    case certificateList

    public var requestType: String {
        switch self {
        case .installProfile: "InstallProfile"
        case .removeProfile: "RemoveProfile"
        case .profileList: "ProfileList"
        case .certificateList: "CertificateList"
        }
    }

    /// Written directly: Foundation's PropertyListSerialization on Linux copies a `Data`
    /// payload byte by byte through NSData, which made rendering 200,000 commands take
    /// minutes. The structure is fixed and small, so the XML is too.
    public func plist(commandUUID: String) -> [UInt8] {
        var command = "<key>RequestType</key><string>\(requestType)</string>"
        switch self {
        case .installProfile(let payload):
            command += "<key>Payload</key><data>\(Data(payload).base64EncodedString())</data>"
        case .removeProfile(let identifier):
            command += "<key>Identifier</key><string>\(XMLText.escape(identifier))</string>"
        case .profileList, .certificateList:
            command += "<key>ManagedOnly</key><true/>"
        }
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict><key>Command</key><dict>\(command)</dict><key>CommandUUID</key><string>\(XMLText.escape(commandUUID))</string></dict>
            </plist>

            """
        return Array(document.utf8)
    }
}

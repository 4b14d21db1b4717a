import Foundation

/// An MDM command as the server sends it: `{CommandUUID, Command: {RequestType, …}}`, an
/// XML plist (apple-mdm-and-apns.md §2).
public enum MDMCommand: Sendable, Hashable {
    /// `Payload` is the profile's bytes, rendered for the host.
    case installProfile(payload: [UInt8])
    /// `Identifier` is the profile's top-level PayloadIdentifier.
    case removeProfile(identifier: String)
    case profileList

    public var requestType: String {
        switch self {
        case .installProfile: "InstallProfile"
        case .removeProfile: "RemoveProfile"
        case .profileList: "ProfileList"
        }
    }

    public func plist(commandUUID: String) -> [UInt8] {
        var command: [String: Any] = ["RequestType": requestType]
        switch self {
        case .installProfile(let payload): command["Payload"] = Data(payload)
        case .removeProfile(let identifier): command["Identifier"] = identifier
        case .profileList: command["ManagedOnly"] = true
        }
        let document: [String: Any] = ["CommandUUID": commandUUID, "Command": command]
        // Serialising a dictionary of strings, data and booleans cannot fail.
        let data = try! PropertyListSerialization.data(fromPropertyList: document, format: .xml, options: 0)
        return [UInt8](data)
    }
}

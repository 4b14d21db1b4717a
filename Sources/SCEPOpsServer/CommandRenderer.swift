import MDM
import SCEPOpsCore
import SCEPOpsStore

/// Renders a queued command into the plist a device receives, when it fetches it: the
/// profile filled for the host (the CA's challenge, the proxy URL with the command's
/// one-time token, the renewal id). The challenge exists in clear only here, in memory.
public struct CommandRenderer: Sendable {
    public enum Failure: Error, Sendable, Hashable {
        case unassigned
        case profileGone
        case certificateAuthorityGone(String)
        case render(ProfileRenderer.Failure)
    }

    let store: any DeliveryStore
    /// The URL hosts reach this server at; proxy URLs start with it. Nil: the URL the
    /// device used for this request (fine on a test bench; production names it).
    let serverURL: String?

    public init(store: any DeliveryStore, serverURL: String?) {
        self.store = store
        self.serverURL = serverURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    public func plist(for command: QueuedCommand, requestBaseURL: String) async throws -> [UInt8] {
        let serverURL = self.serverURL ?? requestBaseURL
        guard let commandUUID = command.commandUUID else { throw Failure.unassigned }
        switch command.type {
        case .removeProfile:
            return MDMCommand.removeProfile(identifier: command.identifier).plist(commandUUID: commandUUID)
        case .profileList:
            return MDMCommand.profileList.plist(commandUUID: commandUUID)
        case .certificateList:
            return MDMCommand.certificateList.plist(commandUUID: commandUUID)
        case .installProfile:
            guard let content = command.content else { throw Failure.profileGone }
            guard let ca = command.certificateAuthority else {
                return MDMCommand.installProfile(payload: content).plist(commandUUID: commandUUID)
            }
            guard let challenge = try await store.challenge(of: ca) else { throw Failure.certificateAuthorityGone(ca) }
            // A token already spent (the device ran SCEP and asks again) renders a URL the
            // proxy refuses, which sends the delivery round again with a fresh one.
            let identifier = ProxyIdentifier(
                host: command.host, profile: command.profile, certificateAuthority: ca, token: command.token ?? "spent")
            let values = ProfileRenderer.Values(
                challenge: challenge, proxyURL: serverURL + "/mdm/scep/proxy/" + identifier.pathComponent,
                renewalID: "fleet-\(command.profile)")
            do {
                let profile = try ProfileRenderer.render(content, certificateAuthority: ca, values: values)
                return MDMCommand.installProfile(payload: profile).plist(commandUUID: commandUUID)
            } catch {
                throw Failure.render(error)
            }
        }
    }
}

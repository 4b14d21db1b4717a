/// The commands scepops queues for a host: a closed set, stored by its MDM RequestType.
public enum HostCommandKind: String, Sendable, Hashable, CaseIterable {
    case installProfile = "InstallProfile"
    case removeProfile = "RemoveProfile"
    case profileList = "ProfileList"
    case certificateList = "CertificateList"
}

/// A device's result for a command.
public enum CommandResult: Sendable, Hashable {
    case acknowledged
    /// An acknowledged ProfileList: the PayloadIdentifiers of the managed profiles.
    case profileList([String])
    /// An acknowledged CertificateList: the certificates the host holds.
    case certificateList([ReportedCertificate])
    case error(detail: String)
    case notNow
    case idle
}

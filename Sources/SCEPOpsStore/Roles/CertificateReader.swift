/// What `scepops certificates` reads: every certificate hosts hold.
public protocol CertificateReader: Sendable {
    func certificates() async throws(StoreError) -> [HostCertificate]
}

/// Where the proxy forwards a host's request: the CA's URL and the fingerprint of the CA
/// certificate the last apply recorded for it (nil when none was fetched), which together
/// name what a cached GetCACaps or GetCACert answer belongs to.
public struct ProxyUpstream: Sendable, Hashable {
    public var url: String
    public var certificateFingerprint: String?

    public init(url: String, certificateFingerprint: String?) {
        self.url = url
        self.certificateFingerprint = certificateFingerprint
    }
}

/// Every role: what a backend is. The composition root opens one; each consumer is handed
/// the roles it uses.
public typealias StateBackend = StateReader & ApplyWriter & LeaseStore & ApplyHistoryReader & StatusReader & DriftReader
    & DeliveryStore & ProxyStore & MDMStore & HostStore & HealthCheck & StateTransfer & TokenStore & CertificateReader & RenewalStore

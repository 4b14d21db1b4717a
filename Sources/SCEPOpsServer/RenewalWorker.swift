import Foundation
import Logging
import SCEPOpsCore
import SCEPOpsStore
import ServiceLifecycle

/// Renews the certificates hosts hold (`RenewalPass`): every interval, each record moves on
/// by what the hosts' CertificateList answers and deliveries say, and the due ones the CAs'
/// hourly limits admit go out again. The profile worker then gives each its fresh token and
/// pushes the host.
public struct RenewalWorker: Service {
    let store: any RenewalStore & CertificateReader & HostStore
    let interval: Duration
    let policy: RenewalPolicy
    let metrics: ServerMetrics?
    let logger: Logger

    public init(
        store: any RenewalStore & CertificateReader & HostStore, interval: Duration, policy: RenewalPolicy, metrics: ServerMetrics? = nil,
        logger: Logger = Logger(label: "scepops.renewal")
    ) {
        self.store = store
        self.interval = interval
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await pass()
            } catch {
                // The state may be busy or briefly unavailable: try again next time.
                logger.error("renewal pass failed", metadata: ["error": "\(error.code.rawValue)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    @discardableResult
    public func pass(now: Date = Date()) async throws(StoreError) -> RenewalPassResult {
        let result = try await store.renew(now: now, policy: policy)
        if let metrics {
            metrics.fleet(FleetGauges.compute(certificates: try await store.certificates(), hosts: try await store.hosts(), now: now))
        }
        for (outcome, count) in [("started", result.started), ("renewed", result.renewed), ("retrying", result.retrying), ("failed", result.failed)]
        where count > 0 {
            metrics?.renewal(outcome, count)
        }
        if result != RenewalPassResult() {
            logger.info(
                "renewal pass",
                metadata: [
                    "started": "\(result.started)", "renewed": "\(result.renewed)", "retrying": "\(result.retrying)",
                    "failed": "\(result.failed)",
                ])
        }
        return result
    }
}

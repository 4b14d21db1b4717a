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
                // Stopping: a pass cut short is not a failure.
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // The state may be busy or briefly unavailable: try again next time.
                logger.error("renewal pass failed", metadata: ["error": "\(error.code.rawValue)"])
            }
            // A SIGTERM ends the wait, not just the next pass.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
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
        for event in result.events { log(event) }
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

    /// One line per attempt started or finished, with the host, profile, CA and serials.
    private func log(_ event: RenewalPass.Update) {
        let record = event.record
        var metadata: Logger.Metadata = [
            "udid": "\(record.host)", "profile": "\(record.profile)", "ca": "\(record.certificateAuthority)",
            "serial": "\(record.standing.serial)", "attempt": "\(event.progress.attempts)",
        ]
        if event.starts {
            metadata["expires"] = "\(record.standing.notAfter.ISO8601Format())"
            logger.info("renewal started", metadata: metadata)
        }
        switch event.finished {
        case .renewed:
            logger.info("certificate renewed", metadata: metadata)
        case .failed where event.progress.state == .failed:
            metadata["reason"] = "\(record.deliveryDetail ?? "no new certificate in time")"
            logger.error("renewal failed", metadata: metadata)
        case .failed:
            metadata["retry_at"] = "\(event.progress.retryAt?.ISO8601Format() ?? "")"
            logger.warning("renewal attempt failed", metadata: metadata)
        default:
            break
        }
    }
}

extension RenewalWorker: CustomStringConvertible {
    /// As the service lifecycle logs it: the name, not every setting and the store inside.
    public var description: String { "RenewalWorker" }
}

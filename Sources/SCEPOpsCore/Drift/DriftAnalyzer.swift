import Foundation

/// Turns a plan, what the hosts reported and what the CAs answer into drift findings. Pure:
/// the clock and the thresholds come in as values.
public struct DriftAnalyzer: Sendable {
    /// A host or CA certificate expiring within this many days is reported.
    public var expiryDays: Int
    /// A host not heard from for this many days is reported.
    public var unseenDays: Int

    public init(expiryDays: Int = 30, unseenDays: Int = 7) {
        self.expiryDays = expiryDays
        self.unseenDays = unseenDays
    }

    public func findings(
        plan: Plan, hosts: HostObservations, authorities: [CertificateAuthorityHealth], now: Date
    ) -> [DriftFinding] {
        (unapplied(plan) + hostFindings(hosts, now: now) + authorityFindings(authorities, now: now)).sorted()
    }

    func unapplied(_ plan: Plan) -> [DriftFinding] {
        plan.changes.map { change in
            var message = "plan would \(change.action.rawValue) \(change.kind.rawValue) \(change.name)"
            if let previous = change.previousName { message += " (was \(previous))" }
            let fields = change.fields.map { $0.sensitive ? "\($0.path) \(FieldChange.sensitiveText)" : $0.path }
            if !fields.isEmpty { message += ": " + fields.joined(separator: ", ") }
            if change.hostsAffected > 0 { message += "; \(change.hostsAffected) host(s) affected" }
            return DriftFinding(
                .unappliedChange, subject: "\(change.action.rawValue) \(change.kind.rawValue) \(change.name)", message)
        }
    }

    func hostFindings(_ hosts: HostObservations, now: Date) -> [DriftFinding] {
        var findings: [DriftFinding] = []
        for renewal in hosts.failedRenewals {
            let days = Self.days(from: now, to: renewal.notAfter)
            findings.append(
                DriftFinding(
                    .renewalFailed, subject: "host \(renewal.host) profile \(renewal.profile)",
                    "renewing its certificate failed \(renewal.attempts) time(s): \(renewal.detail ?? "no detail"); the certificate \(Self.expiry(days, renewal.notAfter))"))
        }
        for delivery in hosts.failed {
            findings.append(
                DriftFinding(
                    .profileFailed, subject: "host \(delivery.host) profile \(delivery.profile)",
                    "the profile failed on the host: \(delivery.detail ?? "no detail")"))
        }
        for delivery in hosts.missing {
            findings.append(
                DriftFinding(
                    .profileMissing, subject: "host \(delivery.host) profile \(delivery.profile)",
                    "the host's profile list lacks the profile; re-delivery \(delivery.retries) is under way"))
        }
        for profile in hosts.unexpected {
            findings.append(
                DriftFinding(
                    .profileUnexpected, subject: "host \(profile.host) profile \(profile.identifier)",
                    "the host has a managed profile that scepops did not deliver"))
        }
        for certificate in hosts.certificates {
            let days = Self.days(from: now, to: certificate.notAfter)
            guard days < expiryDays else { continue }
            findings.append(
                DriftFinding(
                    .certificateExpiring,
                    subject: "host \(certificate.host) certificate \(certificate.fingerprint.prefix(16))",
                    "\(certificate.subject) \(Self.expiry(days, certificate.notAfter))"))
        }
        for host in hosts.hosts {
            let since = host.lastSeen ?? host.enrolledAt
            let days = Self.days(from: since, to: now)
            guard days >= unseenDays else { continue }
            let seen = host.lastSeen.map { "last seen \(Self.stamp($0)), \(days) days ago" }
                ?? "never seen since enrolment \(days) days ago"
            findings.append(DriftFinding(.hostUnseen, subject: "host \(host.uuid)", "\(seen) (team \(host.team ?? "none"))"))
        }
        // The subject keeps the UDID alone (ignore rules and fingerprints match it); the
        // message names the host by its serial too.
        let teams = Dictionary(hosts.hosts.map { ($0.uuid, $0.team) }) { first, _ in first }
        return findings.map { finding in
            guard let udid = finding.subject.split(separator: " ").dropFirst().first.map(String.init) else { return finding }
            var named = finding
            named.team = teams[udid] ?? nil
            if let serial = hosts.serials[udid] {
                named.hostSerial = serial
                named.message += " (host serial \(serial))"
            }
            return named
        }
    }

    func authorityFindings(_ authorities: [CertificateAuthorityHealth], now: Date) -> [DriftFinding] {
        var findings: [DriftFinding] = []
        for authority in authorities {
            let subject = "certificate_authority \(authority.name)"
            var current = authority.applied
            switch authority.live {
            case .unreachable(let reason):
                findings.append(DriftFinding(.caUnreachable, subject: subject, reason))
            case .answered(let live):
                if let applied = authority.applied, applied.fingerprint != live.fingerprint {
                    findings.append(
                        DriftFinding(
                            .caCertificateChanged, subject: subject,
                            "the CA now serves \(live.subject) (sha256 \(live.fingerprint.prefix(16))…), not the certificate recorded at apply (sha256 \(applied.fingerprint.prefix(16))…)"
                        ))
                }
                current = live
            case .unchecked:
                break
            }
            if let current, let notAfter = try? Date(current.notAfter, strategy: .iso8601) {
                let days = Self.days(from: now, to: notAfter)
                if days < expiryDays {
                    findings.append(
                        DriftFinding(.caCertificateExpiring, subject: subject, "\(current.subject) \(Self.expiry(days, notAfter))"))
                }
            }
        }
        return findings
    }

    /// Whole days from one date to another, rounded down (negative when `to` is earlier).
    static func days(from: Date, to: Date) -> Int {
        Int((to.timeIntervalSince(from) / 86_400).rounded(.down))
    }

    static func expiry(_ days: Int, _ date: Date) -> String {
        days < 0 ? "expired on \(stamp(date))" : "expires on \(stamp(date)), in \(days) day(s)"
    }

    static func stamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

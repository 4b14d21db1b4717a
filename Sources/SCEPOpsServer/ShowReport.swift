import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// One CA, team or profile as the state holds it, without secrets, and the commit and apply
/// that last changed it: `scepops show` and the admin API's `/v1/show` give the same text and
/// JSON.
public enum ShowReport {
    public enum Kind: String, Sendable, CaseIterable {
        case ca
        case team
        case profile
        /// By UDID or serial number.
        case host
    }

    /// What `show KIND NAME` prints, read from the state.
    public static func render(
        _ kind: Kind, _ name: String, store: any StatusReader & ApplyHistoryReader & HostStore & CertificateReader, now: Date = Date()
    ) async throws(StoreError) -> Result<(text: String, json: String), ShowFailure> {
        guard kind == .host else { return render(kind, name, status: try await store.status(), applies: try await store.applies()) }
        let hosts = try await store.hosts()
        let matches = hosts.filter { $0.uuid == name || $0.serial == name }
        guard matches.count == 1, let host = matches.first else {
            return .failure(ShowFailure(
                message: matches.isEmpty
                    ? "no host with the UDID or serial \(name) in the state"
                    : "\(matches.count) hosts have the serial \(name); name one by UDID: \(matches.map(\.uuid).joined(separator: ", "))"))
        }
        let status = try await store.status()
        let settings = Dictionary(status.certificateAuthorities.map { ($0.name, $0.renewal) }) { a, _ in a }
        let certificates = CertificatesReport.rows(
            try await store.certificates().filter { $0.hostUDID == host.uuid }, settings: settings, filter: .init(), now: now)
        return .success(renderHost(host, deliveries: try await store.deliveries(host: host.uuid), certificates: certificates))
    }

    static func renderHost(_ host: HostSummary, deliveries: [HostDelivery], certificates: [CertificatesReport.Row]) -> (text: String, json: String) {
        var json = HostsReport.record(host)
        json["kind"] = "host"
        json["profiles"] = deliveries.map {
            ["identifier": $0.identifier, "operation": $0.operation, "status": $0.status, "detail": $0.detail ?? NSNull(), "updated_at": $0.updatedAt]
                as [String: Any]
        }
        json["certificates"] = certificates.map(CertificatesReport.record)
        var lines = [
            "udid: \(host.uuid)", "serial: \(host.serial ?? "(none)")", "team: \(host.team ?? "(none)")",
            "enrolled_at: \(host.enrolledAt.ISO8601Format())", "last_seen_at: \(host.lastSeen?.ISO8601Format() ?? "never")",
            "profiles:" + (deliveries.isEmpty ? " (none)" : ""),
        ]
        for delivery in deliveries {
            lines.append("  \(delivery.identifier)  \(delivery.operation) \(delivery.status)" + (delivery.detail.map { "  (\($0))" } ?? ""))
        }
        lines.append("certificates:" + (certificates.isEmpty ? " (none)" : ""))
        for row in certificates {
            let certificate = row.certificate
            var line = "  \(certificate.serial ?? "-")  \(certificate.subject)  expires \(certificate.notAfter.ISO8601Format())"
            line += certificate.managed ? "  \(certificate.profile ?? "")  renewal \(row.renewal.state.rawValue)" : "  unmanaged"
            lines.append(line)
        }
        return (TextLines.render(lines), JSONOutput.render(json))
    }

    /// The thing shown, in both formats; or why it cannot be (none of that name, or a
    /// profile identifier in several teams), said as the user reads it.
    static func render(_ kind: Kind, _ name: String, status: StateStatus, applies: [ApplyRecord])
        -> Result<(text: String, json: String), ShowFailure>
    {
        func notFound(_ names: [String]) -> ShowFailure {
            var message = "no \(kind.rawValue) named \(name) in the state"
            message += names.isEmpty ? "" : " (it has: \(names.sorted().joined(separator: ", ")))"
            return ShowFailure(message: message)
        }
        var fields: [(String, Any)]
        let lastCommit: String?
        switch kind {
        case .ca:
            guard let ca = status.certificateAuthorities.first(where: { $0.name == name }) else {
                return .failure(notFound(status.certificateAuthorities.map(\.name)))
            }
            let users = status.profiles.filter { $0.certificateAuthorities.contains(name) }.map { "\($0.team)/\($0.identifier)" }
            fields = [
                ("name", ca.name), ("url", ca.url), ("file", ca.file), ("challenge", "(sensitive)"),
                ("certificate", ca.certificate.map { ["subject": $0.subject, "fingerprint": $0.fingerprint, "not_after": $0.notAfter] } ?? NSNull()),
                ("profiles", users), ("renewal", renewal(ca.renewal)), ("updated_at", ca.updatedAt),
            ]
            lastCommit = ca.lastCommit
        case .team:
            guard let team = status.teams.first(where: { $0.name == name }) else { return .failure(notFound(status.teams.map(\.name))) }
            fields = [
                ("name", team.name), ("file", team.file), ("enroll_secret", "(sensitive)"), ("hosts", team.hosts),
                ("profiles", status.profiles.filter { $0.team == name }.map(\.identifier)), ("updated_at", team.updatedAt),
            ]
            lastCommit = team.lastCommit
        case .host:
            return .failure(ShowFailure(message: "a host is shown from the state's hosts"))
        case .profile:
            let matches = status.profiles.filter { "\($0.team)/\($0.identifier)" == name || $0.identifier == name }
            guard matches.count == 1, let profile = matches.first else {
                if matches.count > 1 {
                    return .failure(ShowFailure(
                        message: "\(name) is in \(matches.count) teams; name one: \(matches.map { "\($0.team)/\($0.identifier)" }.joined(separator: ", "))"))
                }
                return .failure(notFound(status.profiles.map { "\($0.team)/\($0.identifier)" }))
            }
            fields = [
                ("name", "\(profile.team)/\(profile.identifier)"), ("team", profile.team), ("identifier", profile.identifier),
                ("path", profile.path), ("uuid", profile.uuid), ("certificate_authorities", profile.certificateAuthorities),
                ("host_profiles", StatusReport.counts(profile.hostProfiles)), ("updated_at", profile.updatedAt),
            ]
            lastCommit = profile.lastCommit
        }
        // The last successful apply of that commit: who merged the change, and when.
        let apply = applies.last { $0.result == .applied && $0.commit != nil && $0.commit == lastCommit }
        fields.append(("last_commit", lastCommit ?? NSNull()))
        fields.append(("last_apply", apply.map(HistoryReport.record) ?? NSNull()))

        let json = JSONOutput.render(Dictionary(fields, uniquingKeysWith: { a, _ in a }).merging(["kind": kind.rawValue]) { a, _ in a })
        var lines: [String] = []
        for (key, value) in fields where key != "last_apply" {
            lines.append("\(key): \(describe(value))")
        }
        if let apply {
            lines.append("last changed by: apply #\(apply.id) by \(apply.actor) at \(apply.finishedAt)")
        }
        return .success((TextLines.render(lines), json))
    }

    /// A CA's renewal settings as given; null: the default (the text says which).
    private static func renewal(_ settings: RenewalSettings) -> [String: Any] {
        ["before": settings.before.map(DurationText.format) ?? NSNull(), "max_per_hour": settings.maximumPerHour ?? NSNull()]
    }

    private static func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: "(none)"
        case let list as [String]: list.isEmpty ? "(none)" : list.joined(separator: ", ")
        case let map as [String: Int]: map.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        case let map as [String: String]: map.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        case let renewal as [String: Any] where renewal["max_per_hour"] != nil:
            "before \(renewal["before"] as? String ?? "(30 days, or half of a shorter validity)"), max_per_hour \(renewal["max_per_hour"] as? Int ?? RenewalPacer.defaultPerHour)"
                + (renewal["max_per_hour"] is Int ? "" : " (default)")
        default: "\(value)"
        }
    }
}

/// Why `show` has nothing to show.
public struct ShowFailure: Error, Sendable {
    public var message: String
}

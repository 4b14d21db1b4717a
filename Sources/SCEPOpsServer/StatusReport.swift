import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// Renders `StateStatus` as text or JSON: `scepops status` and the admin API's `/v1/status`
/// give the same document.
public enum StatusReport {
    public static func text(_ status: StateStatus) -> String {
        var lines = ["State revision \(status.revision)"]
        if let last = status.lastApply {
            lines.append("Last apply: #\(last.id) \(last.result.rawValue) by \(last.actor) at \(last.finishedAt)" + (last.commit.map { ", commit \($0.prefix(12))" } ?? ""))
        }
        lines.append("")
        lines.append("Certificate authorities (\(status.certificateAuthorities.count)):")
        for ca in status.certificateAuthorities {
            var line = "  \(ca.name)  \(ca.url)"
            if let certificate = ca.certificate { line += "  [\(certificate.subject), expires \(certificate.notAfter)]" }
            lines.append(line)
        }
        lines.append("Teams (\(status.teams.count)):")
        for team in status.teams { lines.append("  \(team.name)  \(team.hosts) host(s), \(team.profiles) profile(s)") }
        lines.append("Profiles (\(status.profiles.count)):")
        for profile in status.profiles {
            let counts = DeliveryStatus.allCases.map { "\($0.rawValue) \(profile.hostProfiles[$0] ?? 0)" }.joined(separator: ", ")
            lines.append("  \(profile.team)/\(profile.identifier)  \(profile.path)  [\(counts)]")
        }
        let total = DeliveryStatus.allCases.map { "\($0.rawValue) \(status.hostProfiles[$0] ?? 0)" }.joined(separator: ", ")
        lines.append("Host profiles: \(total)")
        return TextLines.render(lines)
    }

    /// Deliveries by status, every status named.
    public static func counts(_ counts: [DeliveryStatus: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
    }

    public static func json(_ status: StateStatus) -> String {
        let document: [String: Any] = [
            "format_version": "1",
            "revision": status.revision,
            "certificate_authorities": status.certificateAuthorities.map { ca -> [String: Any] in
                [
                    "name": ca.name, "url": ca.url, "last_commit": ca.lastCommit ?? NSNull(),
                    "certificate": ca.certificate.map {
                        ["subject": $0.subject, "fingerprint": $0.fingerprint, "not_after": $0.notAfter]
                    } ?? NSNull(),
                ]
            },
            "teams": status.teams.map {
                ["name": $0.name, "hosts": $0.hosts, "profiles": $0.profiles, "last_commit": $0.lastCommit ?? NSNull()]
                    as [String: Any]
            },
            "profiles": status.profiles.map {
                [
                    "uuid": $0.uuid, "team": $0.team, "identifier": $0.identifier, "path": $0.path,
                    "certificate_authorities": $0.certificateAuthorities, "host_profiles": counts($0.hostProfiles),
                    "last_commit": $0.lastCommit ?? NSNull(),
                ] as [String: Any]
            },
            "host_profiles": counts(status.hostProfiles),
            "last_apply": status.lastApply.map {
                ["id": $0.id, "result": $0.result.rawValue, "actor": $0.actor, "commit": $0.commit ?? NSNull(), "finished_at": $0.finishedAt]
                    as [String: Any]
            } ?? NSNull(),
        ]
        return JSONOutput.render(document)
    }
}

import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops show ca|team|profile NAME`: one thing as the state holds it, without secrets,
/// and the commit and apply that last changed it.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one CA, team or profile from the state, and what last changed it.",
        discussion: "A profile is named team/PayloadIdentifier, or by its PayloadIdentifier when only one team has it.")

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case ca
        case team
        case profile
    }

    @Argument(help: "ca, team or profile.")
    var kind: Kind

    @Argument(help: "Its name.")
    var name: String

    @OptionGroup var state: StateOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    func run() async throws {
        let (store, _) = try await state.openExisting()
        let status: StateStatus
        let applies: [ApplyRecord]
        do {
            status = try await store.status()
            applies = try await store.applies()
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        var fields: [(String, Any)]
        let lastCommit: String?
        switch kind {
        case .ca:
            guard let ca = status.certificateAuthorities.first(where: { $0.name == name }) else {
                throw notFound(status.certificateAuthorities.map(\.name))
            }
            let users = status.profiles.filter { $0.certificateAuthorities.contains(name) }.map { "\($0.team)/\($0.identifier)" }
            fields = [
                ("name", ca.name), ("url", ca.url), ("file", ca.file), ("challenge", "(sensitive)"),
                ("certificate", ca.certificate.map { ["subject": $0.subject, "fingerprint": $0.fingerprint, "not_after": $0.notAfter] } ?? NSNull()),
                ("profiles", users), ("updated_at", ca.updatedAt),
            ]
            lastCommit = ca.lastCommit
        case .team:
            guard let team = status.teams.first(where: { $0.name == name }) else { throw notFound(status.teams.map(\.name)) }
            fields = [
                ("name", team.name), ("file", team.file), ("enroll_secret", "(sensitive)"), ("hosts", team.hosts),
                ("profiles", status.profiles.filter { $0.team == name }.map(\.identifier)), ("updated_at", team.updatedAt),
            ]
            lastCommit = team.lastCommit
        case .profile:
            let matches = status.profiles.filter { "\($0.team)/\($0.identifier)" == name || $0.identifier == name }
            guard matches.count == 1, let profile = matches.first else {
                if matches.count > 1 {
                    Output.error("error: \(name) is in \(matches.count) teams; name one: \(matches.map { "\($0.team)/\($0.identifier)" }.joined(separator: ", "))")
                    throw ExitStatus.failure
                }
                throw notFound(status.profiles.map { "\($0.team)/\($0.identifier)" })
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

        switch format {
        case .json:
            Output.write(JSONOutput.render(Dictionary(fields, uniquingKeysWith: { a, _ in a }).merging(["kind": kind.rawValue]) { a, _ in a }))
        case .text:
            var lines: [String] = []
            for (key, value) in fields where key != "last_apply" {
                lines.append("\(key): \(Self.describe(value))")
            }
            if let apply {
                lines.append("last changed by: apply #\(apply.id) by \(apply.actor) at \(apply.finishedAt)")
            }
            Output.write(TextLines.render(lines))
        }
    }

    private func notFound(_ names: [String]) -> ExitCode {
        var message = "error: no \(kind.rawValue) named \(name) in the state"
        message += names.isEmpty ? "" : " (it has: \(names.sorted().joined(separator: ", ")))"
        Output.error(message)
        return ExitStatus.failure
    }

    private static func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: "(none)"
        case let list as [String]: list.isEmpty ? "(none)" : list.joined(separator: ", ")
        case let map as [String: Int]: map.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        case let map as [String: String]: map.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        default: "\(value)"
        }
    }
}

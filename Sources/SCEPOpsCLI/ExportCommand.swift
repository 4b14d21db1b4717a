import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops export --out DIR`: the state written back as a config repo, so a team can
/// adopt scepops over an existing state without deleting anything. Secrets are not
/// written: each becomes a `${…}` placeholder named after its owner, listed on output.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the current state as a config repo, secrets as placeholders.",
        discussion: """
            Set each listed variable to its secret, then `scepops plan --repo DIR` shows no changes. DIR must not exist \
            or be empty; it is written whole or not at all.

            Examples:
              scepops export --db scepops.db --out exported-repo
              scepops export --db postgres://scepops@db:5432/scepops --out restore
            """)

    @OptionGroup var state: StateOptions

    @Option(help: "The folder to write the config repo to.")
    var out: String

    func run() async throws {
        let (store, _) = try await state.openExisting()
        let current: CurrentState
        do {
            current = try await store.currentState()
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        let export = ConfigExport(current)
        if let problem = export.problems.first {
            Output.error("error: cannot export the state: \(problem)")
            throw ExitStatus.failure
        }
        do {
            try write(export.files)
        } catch {
            Output.error("error: cannot write \(out): \(error.localizedDescription)")
            throw ExitStatus.failure
        }
        var lines = [
            "Exported \(current.certificateAuthorities.count) CA(s), \(current.teams.count) team(s) and \(Set(current.profiles.values.map(\.path)).count) profile file(s) to \(out).",
            "Set these variables to their secrets (they are not in the state in a form that may be written out):",
        ]
        lines += export.placeholders.map { "  \($0.variable)  (\($0.owner))" }
        lines.append("Then `scepops plan --repo \(out)` shows no changes.")
        Output.write(TextLines.render(lines))
    }

    /// Into a temporary sibling, renamed into place: a failure leaves nothing half-written.
    private func write(_ files: [String: [UInt8]]) throws {
        let manager = FileManager.default
        let target = URL(fileURLWithPath: out)
        if manager.fileExists(atPath: out), !(try manager.contentsOfDirectory(atPath: out)).isEmpty {
            throw CocoaError(.fileWriteFileExists, userInfo: [NSLocalizedDescriptionKey: "the folder exists and is not empty"])
        }
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())")
        try? manager.removeItem(at: temporary)
        do {
            for (path, content) in files {
                let url = temporary.appendingPathComponent(path)
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(content).write(to: url)
            }
            if manager.fileExists(atPath: out) { try manager.removeItem(at: target) }
            try manager.moveItem(at: temporary, to: target)
        } catch {
            try? manager.removeItem(at: temporary)
            throw error
        }
    }
}

/// The files of a config repo that plans to no changes against `state`.
struct ConfigExport {
    struct Placeholder {
        var variable: String
        var owner: String
    }

    private(set) var files: [String: [UInt8]] = [:]
    private(set) var placeholders: [Placeholder] = []
    private(set) var problems: [String] = []

    init(_ state: CurrentState) {
        var used: Set<String> = []
        func variable(_ parts: String...) -> String {
            let base = parts.map { $0.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" } }
                .map { String($0) }.joined(separator: "_")
            var name = base
            var suffix = 2
            while used.contains(name) {
                name = "\(base)_\(suffix)"
                suffix += 1
            }
            used.insert(name)
            return name
        }
        for ca in state.certificateAuthorities.values.sorted(by: { $0.name < $1.name }) {
            let name = variable("SCEPOPS_CA", ca.name, "CHALLENGE")
            placeholders.append(Placeholder(variable: name, owner: "challenge of certificate authority \(ca.name)"))
            var renewal: [String] = []
            if let before = ca.renewal.before { renewal.append("  before: \(DurationText.format(before))\n") }
            if let limit = ca.renewal.maximumPerHour { renewal.append("  max_per_hour: \(limit)\n") }
            add(
                ca.file,
                "name: \(Self.quoted(ca.name))\nurl: \(Self.quoted(ca.url))\nchallenge: ${\(name)}\n"
                    + (renewal.isEmpty ? "" : "renewal:\n" + renewal.joined()))
        }
        for team in state.teams.values.sorted(by: { $0.name < $1.name }) {
            let name = variable("SCEPOPS_TEAM", team.name, "ENROLL_SECRET")
            placeholders.append(Placeholder(variable: name, owner: "enroll secret of team \(team.name)"))
            let paths = Set(state.profiles.values.filter { $0.key.team == team.name }.map(\.path)).sorted()
            let list = paths.isEmpty ? " []\n" : "\n" + paths.map { "  - \(Self.quoted($0))\n" }.joined()
            add(team.file, "name: \(Self.quoted(team.name))\nenroll_secret: ${\(name)}\nprofiles:\(list)")
        }
        for profile in state.profiles.values.sorted(by: { $0.key < $1.key }) { add(profile.path, profile.content) }
    }

    private mutating func add(_ path: String, _ text: String) {
        add(path, Array(text.utf8))
    }

    private mutating func add(_ path: String, _ content: [UInt8]) {
        guard !path.hasPrefix("/"), !path.split(separator: "/").contains(".."), !path.isEmpty else {
            problems.append("the state names a file outside the repo: \(path)")
            return
        }
        // The same profile file in two teams is one file; two contents for one path are not.
        if let existing = files[path], existing != content { problems.append("two different contents for the file \(path)") }
        files[path] = content
    }

    /// A YAML double-quoted scalar whose value the loader reads back unchanged: a dollar
    /// sign is escaped for the loader's variable expansion too.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "$": out += "\\\\$"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

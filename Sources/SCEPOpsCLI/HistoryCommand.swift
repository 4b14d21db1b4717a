import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops history`: the append-only record of applies, newest first.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List the applies: commit, actor, counts and result.")

    @OptionGroup var state: StateOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    @Option(help: "Show at most this many applies (0: all).")
    var limit: Int = 20

    func run() async throws {
        let (store, _) = try await state.openExisting()
        let records: [ApplyRecord]
        do {
            records = try await store.applies().reversed().prefix(limit > 0 ? limit : .max).map { $0 }
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        switch format {
        case .json: Output.write(JSONOutput.render(["format_version": "1", "applies": records.map(Self.json)]))
        case .text:
            guard !records.isEmpty else { return Output.write("No applies yet.\n") }
            let lines = records.map { record in
                var line = "#\(record.id)  \(record.finishedAt)  \(record.result.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  "
                line += "\(record.commit.map { String($0.prefix(12)) } ?? "(no commit)")  \(record.actor)  "
                line += "+\(record.counts[.create] ?? 0) ~\(record.counts[.update] ?? 0) -\(record.counts[.delete] ?? 0) -/+\(record.counts[.replace] ?? 0)"
                if let detail = record.detail { line += "  (\(detail))" }
                return line
            }
            Output.write(TextLines.render(lines))
        }
    }

    static func json(_ record: ApplyRecord) -> [String: Any] {
        [
            "id": record.id, "commit": record.commit ?? NSNull(), "ref": record.ref ?? NSNull(), "actor": record.actor,
            "result": record.result.rawValue, "started_at": record.startedAt, "finished_at": record.finishedAt,
            "scepops_version": record.version, "plan_hash": record.planHash, "detail": record.detail ?? NSNull(),
            "counts": [
                "create": record.counts[.create] ?? 0, "update": record.counts[.update] ?? 0,
                "delete": record.counts[.delete] ?? 0, "replace": record.counts[.replace] ?? 0,
            ],
        ]
    }
}

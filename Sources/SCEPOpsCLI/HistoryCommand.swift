import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops history`: the append-only record of applies, newest first.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List the applies: commit, actor, counts and result.",
        discussion: """
            Examples:
              scepops history --limit 10
              scepops history --format json
            """)

    @OptionGroup var state: StateOptions

    @OptionGroup var remote: RemoteOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    @Option(help: "Show at most this many applies (0: all).")
    var limit: Int = 20

    func run() async throws {
        if remote.url != nil {
            return Output.write(try await remote.get("/v1/history?format=\(format.rawValue)&limit=\(limit)"))
        }
        let (store, _) = try await state.openExisting()
        let records: [ApplyRecord]
        do {
            records = HistoryReport.newest(try await store.applies(), limit: limit)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        Output.write(format == .json ? HistoryReport.json(records) : HistoryReport.text(records))
    }
}

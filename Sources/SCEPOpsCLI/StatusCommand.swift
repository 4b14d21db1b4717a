import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops status`: what the state holds, without secrets.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the CAs, teams, profiles and host deliveries in the state.",
        discussion: """
            Examples:
              scepops status --db scepops.db
              scepops status --server https://scepops.example.com:8443 --format json
            """)

    @OptionGroup var state: StateOptions

    @OptionGroup var remote: RemoteOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    func run() async throws {
        if remote.url != nil {
            return Output.write(try await remote.get("/v1/status?format=\(format.rawValue)"))
        }
        let (store, _) = try await state.openExisting()
        do {
            let status = try await store.status()
            Output.write(format == .json ? StatusReport.json(status) : StatusReport.text(status))
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
    }
}

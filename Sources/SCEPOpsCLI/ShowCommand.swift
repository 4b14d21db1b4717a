import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops show ca|team|profile|host NAME`: one thing as the state holds it, without secrets,
/// and the commit and apply that last changed it (`ShowReport`).
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one CA, team, profile or host from the state, and what last changed it.",
        discussion: """
            A profile is named team/PayloadIdentifier, or by its PayloadIdentifier when only one team has it. A host is
            named by its UDID or serial number, and is shown with its deliveries and certificates.

            Examples:
              scepops show ca WIFI
              scepops show profile Workstations/com.example.wifi
              scepops show host C02XK1JHJG5J --format json
            """)

    @Argument(help: "ca, team, profile or host.")
    var kind: ShowReport.Kind

    @Argument(help: "Its name.")
    var name: String

    @OptionGroup var state: StateOptions

    @OptionGroup var remote: RemoteOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    func run() async throws {
        if remote.url != nil {
            return Output.write(try await remote.get("/v1/show", query: ["kind": kind.rawValue, "name": name, "format": format.rawValue]))
        }
        let (store, _) = try await state.openExisting()
        let shown: Result<(text: String, json: String), ShowFailure>
        do {
            shown = try await ShowReport.render(kind, name, store: store)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        switch shown {
        case .success(let shown): Output.write(format == .json ? shown.json : shown.text)
        case .failure(let failure):
            Output.error("error: \(failure.message)")
            throw ExitStatus.failure
        }
    }
}

extension ShowReport.Kind: ExpressibleByArgument {}

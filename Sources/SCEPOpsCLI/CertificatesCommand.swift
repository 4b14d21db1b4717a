import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops certificates`: every certificate the hosts hold, with its renewal, and when
/// they expire.
struct CertificatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificates",
        abstract: "List the certificates hosts hold, their renewal, and an expiry histogram by week.",
        discussion: """
            Examples:
              scepops certificates --expiring 30d
              scepops certificates --ca WIFI --team Kiosks --format csv > wifi.csv
              SCEPOPS_TOKEN=… scepops certificates --server https://scepops.example.com:8443 --format json
            """)

    @OptionGroup var state: StateOptions

    @OptionGroup var remote: RemoteOptions

    @Option(help: "Only those that expire within this long (30d, 12h; expired ones too).")
    var expiring: String?

    @Option(help: "Only those of this certificate authority.")
    var ca: String?

    @Option(help: "Only those of this team's hosts.")
    var team: String?

    @Option(help: "Output format.")
    var format: ListFormat = .text

    func validate() throws {
        if let expiring, DurationText.seconds(expiring) == nil {
            throw ValidationError("--expiring must be a duration such as 30d, 12h or 90m")
        }
    }

    func run() async throws {
        if remote.url != nil {
            return Output.write(
                try await remote.get(
                    "/v1/certificates", query: ["expiring": expiring, "ca": ca, "team": team, "format": format.rawValue]))
        }
        let (store, _) = try await state.openExisting()
        let certificates: [HostCertificate]
        let status: StateStatus
        do {
            certificates = try await store.certificates()
            status = try await store.status()
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        Output.write(
            CertificatesReport.render(
                certificates, status: status,
                filter: .init(expiring: expiring.flatMap { DurationText.seconds($0) }, certificateAuthority: ca, team: team),
                format: format.rawValue, now: Date())!)
    }
}

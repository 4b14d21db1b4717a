import Foundation
import SCEPOpsTestSupport

/// What the end-to-end suites start from: two real scepservers as the CAs (`-allowrenew 0`)
/// and one for device identities, a git config repo whose CAs point at them, the variables
/// the commands need, and a work folder for the state, logs and devsim's hosts and events.
class EndToEndParts: @unchecked Sendable {
    let wifiCA: SCEPServer
    let vpnCA: SCEPServer
    let identityCA: SCEPServer
    let repo = TempRepo()
    let work = TempRepo()
    var environment: [String: String]
    var events: String { work.path + "/events.jsonl" }

    /// `certificateDays`: the validity of the certificates the two CAs issue.
    init(identityChallenge: String, actor: String, certificateDays: Int? = nil) throws {
        wifiCA = try SCEPServer(challenge: ValidRepo.environment["WIFI_CHALLENGE"]!, allowRenew: 0, validDays: certificateDays)
        vpnCA = try SCEPServer(challenge: ValidRepo.environment["VPN_CHALLENGE"]!, allowRenew: 0, validDays: certificateDays)
        identityCA = try SCEPServer(challenge: identityChallenge, allowRenew: 0)
        environment = ValidRepo.environment.merging([
            "SCEPOPS_SECRET_KEY": ReconcileCommandTests.key, "SCEPOPS_ACTOR": actor,
            "SCEPOPS_IDENTITY_CHALLENGE": identityChallenge, "SCEPOPS_ENROLL_SECRET": ValidRepo.environment["WS_SECRET"]!,
        ]) { $1 }
        repo.write(ValidRepo.files)
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "https://scep.example.com/scep", with: wifiCA.url))
        repo.write("certificate_authorities/vpn.yml", ValidRepo.vpnCA.replacingOccurrences(of: "http://127.0.0.1:2016/scep", with: vpnCA.url))
        repo.commitAll()
    }

    static var devsim: String {
        URL(fileURLWithPath: Command.scepops).deletingLastPathComponent().appendingPathComponent("scepops-devsim").path
    }

    /// Events of the devsim runs, from line `from` on.
    func readEvents(from: Int = 0) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst(from).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

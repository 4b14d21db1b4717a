import ArgumentParser
import Foundation
import MDM
import SCEPOpsCore
import SCEPOpsStore

/// `scepops enrollment-profile`: prints the `.mobileconfig` that enrolls a device into a
/// team. The state keeps only a digest of the enroll secret, so the secret comes from the
/// environment and is checked against that digest.
struct EnrollmentProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrollment-profile",
        abstract: "Print the enrollment profile for a team.",
        discussion: """
            Reads the team's enroll secret from $SCEPOPS_ENROLL_SECRET and the device-identity SCEP challenge from \
            $SCEPOPS_IDENTITY_CHALLENGE. The profile holds both, as a device needs them: hand it out as a secret.

            Examples:
              SCEPOPS_ENROLL_SECRET=... SCEPOPS_IDENTITY_CHALLENGE=... scepops enrollment-profile --team Workstations \\
                  --server-url https://mdm.example.com --identity-scep-url https://ca.example.com/scep > enroll.mobileconfig
            """)

    @OptionGroup var state: StateOptions

    @Option(help: "The team the device joins.")
    var team: String

    @Option(help: "The URL devices reach the server at.")
    var serverURL: String

    @Option(name: .customLong("identity-scep-url"), help: "The SCEP URL that issues device identities.")
    var identitySCEPURL: String

    @Option(help: "The APNs topic of the push certificate (its UID, com.apple.mgmt.…).")
    var topic: String = "com.apple.mgmt.External.scepops"

    func validate() throws {
        try AbsoluteURL.check(serverURL, flag: "--server-url")
        try AbsoluteURL.check(identitySCEPURL, flag: "--identity-scep-url")
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let challenge = environment["SCEPOPS_IDENTITY_CHALLENGE"], !challenge.isEmpty else {
            Output.error("error: set SCEPOPS_IDENTITY_CHALLENGE to the identity SCEP server's challenge")
            throw ExitStatus.failure
        }
        guard let secret = environment["SCEPOPS_ENROLL_SECRET"], !secret.isEmpty else {
            Output.error("error: set SCEPOPS_ENROLL_SECRET to team \"\(team)\"'s enroll secret")
            throw ExitStatus.failure
        }
        let (store, box) = try await state.openExisting()
        do {
            guard try await store.currentState().teams[team] != nil else {
                Output.error("error: there is no team \"\(team)\" in the state")
                throw ExitStatus.failure
            }
            guard try await store.team(enrollSecret: Secret(secret)) == team else {
                Output.error("error: SCEPOPS_ENROLL_SECRET is not team \"\(team)\"'s enroll secret")
                throw ExitStatus.failure
            }
        } catch let error as StoreError {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        let profile = EnrollmentProfile(
            team: team, serverURL: serverURL, identitySCEPURL: identitySCEPURL, identityChallenge: challenge,
            checkInReference: SecretBox.checkInReference(digest: box.digest(Secret(secret))), topic: topic)
        FileHandle.standardOutput.write(Data(profile.plist()))
    }
}

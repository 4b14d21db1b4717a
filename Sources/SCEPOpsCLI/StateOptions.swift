import ArgumentParser
import Foundation

/// Where the state lives and how its secrets are unlocked.
struct StateOptions: ParsableArguments {
    @Option(help: "The SQLite state file (default: $SCEPOPS_DB, else scepops.db).")
    var db: String?

    @Option(help: "A file holding the secret key, base64 of 32 bytes (default: $SCEPOPS_SECRET_KEY, else <db>.key).")
    var keyFile: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["SCEPOPS_DB"] ?? "scepops.db"
    }
}

/// The live GetCACert check of plan and apply.
struct CACheckOptions: ParsableArguments {
    @Flag(help: "Skip the live GetCACert check of new and changed CA URLs.")
    var offline = false

    @Option(help: "Seconds to wait for a CA to answer GetCACert.")
    var caTimeout: Int = 30
}

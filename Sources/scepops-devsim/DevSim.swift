import ArgumentParser
import DeviceSimulator
import Foundation

/// `scepops-devsim`: N simulated Apple hosts that enroll from the profile `scepops
/// enrollment-profile` prints and answer MDM commands, running the SCEP payloads of the
/// profiles they are sent. Exits 1 when any host failed.
@main
struct DevSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scepops-devsim", abstract: "Simulate Apple hosts enrolling and taking profiles from scepops serve.")

    @Option(help: "The enrollment profile (`scepops enrollment-profile` output).")
    var enrollmentProfile: String

    @Option(help: "How many hosts (with --state: at least this many, the saved ones first).")
    var hosts: Int?

    @Option(help: "Enrolments in flight at once, and connections to the server.")
    var concurrency: Int = 8

    @Option(help: "Identity enrolments in flight at once to the identity CA (micromdm's scepserver fails concurrent ones).")
    var identityConcurrency: Int = 1

    @Option(help: "Seconds the whole run may take.")
    var timeout: Double = 300

    @Option(help: "End each host once it has installed or removed nothing for this many seconds and answered a ProfileList since; without it the run lasts until --timeout.")
    var settle: Double?

    @Option(help: "Seconds between a host's polls of the command channel.")
    var pollInterval: Double = 1

    @Option(help: "Keep the hosts (identity, keys, profiles) in this folder, and resume them from it.")
    var state: String?

    @Option(help: "Append what the hosts do to this file, one JSON object a line.")
    var events: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard hosts != nil || state != nil else { throw ValidationError("give --hosts, or --state with saved hosts") }
        guard concurrency > 0, timeout > 0, pollInterval > 0 else {
            throw ValidationError("--concurrency, --timeout and --poll-interval must be more than 0")
        }
    }

    func run() async throws {
        guard let profile = FileManager.default.contents(atPath: enrollmentProfile) else {
            FileHandle.standardError.write(Data("error: cannot read \(enrollmentProfile)\n".utf8))
            throw ExitCode(1)
        }
        var options = DeviceSimulator.Options()
        options.hosts = hosts
        options.concurrency = concurrency
        options.identityConcurrency = identityConcurrency
        options.timeout = timeout
        options.settle = settle
        options.pollInterval = pollInterval
        options.stateDirectory = state
        options.eventsPath = events
        let summary: SimulatorSummary
        do {
            summary = try await DeviceSimulator(enrollmentProfile: [UInt8](profile), options: options).run()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data((json ? summary.json() : summary.text()).utf8))
        if summary.failed { throw ExitCode(1) }
    }
}


import Foundation
import SCEPOpsTestSupport
import Testing

/// The state file as an attacker or a clumsy operator meets it: read-only access, a full
/// disk on the first apply, files that are not ours, a newer schema, file modes.
@Suite("The state file", .serialized)
struct StateFileTests {
    let repo = ValidRepo.make()
    let work = TempRepo()
    let environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key]) { $1 }

    var db: String { work.path + "/state.db" }

    func scepops(_ arguments: [String], program: [String] = [Command.scepops], repoArgument: Bool = true) -> Command.Result {
        let repoArguments = repoArgument ? ["--repo", repo.path] : []
        return Command.run(
            program[0], Array(program.dropFirst()) + arguments + repoArguments + ["--db", db], directory: work.path,
            environment: environment)
    }

    func applied() {
        let apply = scepops(["apply", "--auto-approve", "--offline"])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    }

    static func digest(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Each read-only command, as (arguments, takes --repo).
    static let readers: [([String], Bool)] = [
        (["status"], false), (["history"], false), (["show", "ca", "WIFI"], false),
        (["plan", "--offline"], true), (["drift", "--offline"], true),
    ]

    @Test func readOnlyCommandsWorkWithReadAccessAloneAndLeaveTheFileByteIdentical() throws {
        applied()
        let before = try #require(Self.digest(db))
        for (arguments, takesRepo) in Self.readers {
            let result = scepops(arguments, repoArgument: takesRepo)
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(Self.digest(db) == before, "\(arguments) changed the state's bytes")
            for suffix in ["-wal", "-shm"] {
                #expect(!FileManager.default.fileExists(atPath: db + suffix), "\(arguments) left \(suffix)")
            }
        }
        let export = scepops(["export", "--out", work.path + "/exported"], repoArgument: false)
        #expect(export.status == 0, "\(export.stderr)")
        #expect(Self.digest(db) == before)

        // As a user who may only read the file, in a folder they cannot write.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let binary = work.path + "/scepops-copy"
        try FileManager.default.copyItem(atPath: Command.scepops, toPath: binary)
        chmod(db, 0o644)
        chmod(work.path, 0o755)
        chmod(repo.path, 0o755)
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary]
        #expect(access(work.path, W_OK) == 0, "root may write the folder; nobody may not")
        for (arguments, takesRepo) in Self.readers {
            let result = scepops(arguments, program: nobody, repoArgument: takesRepo)
            #expect(result.status == 0, "\(arguments) as nobody: \(result.stdout)\(result.stderr)")
            #expect(!result.stderr.contains("readonly database"))
            #expect(Self.digest(db) == before)
        }
        // A writer is still refused plainly.
        let apply = scepops(["apply", "--auto-approve", "--offline"], program: nobody)
        #expect(apply.status == 1)
        #expect(Self.digest(db) == before)
    }

    @Test func aFullDiskOnTheFirstApplyLeavesNothingBehind() throws {
        // A file-size limit stands in for a full disk: writes past it fail (EFBIG) while
        // SIGXFSZ is ignored. Without SCEPOPS_SECRET_KEY the default key file is made too.
        var env = environment
        env["SCEPOPS_SECRET_KEY"] = nil
        for blocks in [0, 8] {
            let result = Command.run(
                "/bin/bash",
                ["-c", "trap '' XFSZ; ulimit -f \(blocks); exec \"$@\"", "bash", Command.scepops, "apply", "--auto-approve",
                    "--offline", "--repo", repo.path, "--db", db],
                directory: work.path, environment: env)
            #expect(result.status == 1, "limit \(blocks): \(result.stdout)\(result.stderr)")
            for suffix in ["", "-wal", "-shm", ".key"] {
                #expect(!FileManager.default.fileExists(atPath: db + suffix), "limit \(blocks) left \(suffix)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix("state.db") }
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
        // With room again, the first apply works.
        let apply = Command.run(
            Command.scepops, ["apply", "--auto-approve", "--offline", "--repo", repo.path, "--db", db], directory: work.path,
            environment: env)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stderr.contains("created the secret key"))
        let status = Command.run(Command.scepops, ["status", "--db", db], directory: work.path, environment: env)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("State revision 1"))
    }

    @Test func anEmptyFileOrAnotherProgramsDatabaseIsRefusedAndLeftAlone() throws {
        // A 0-byte file.
        #expect(FileManager.default.createFile(atPath: db, contents: Data()))
        for arguments in [["apply", "--auto-approve", "--offline"], ["status"], ["plan", "--offline"]] {
            let result = scepops(arguments, repoArgument: arguments[0] != "status")
            #expect(result.status == 1, "\(arguments): \(result.stdout)")
            #expect(result.stderr.contains("error[not-a-state]"), "\(arguments): \(result.stderr)")
            #expect(try #require(Self.digest(db)).isEmpty)
        }
        // Another program's SQLite database.
        unlink(db)
        let sqlite = Command.run("/usr/bin/sqlite3", [db, "CREATE TABLE meta (key TEXT, value BLOB); INSERT INTO meta VALUES ('x', 1);"])
        try #require(sqlite.status == 0, "\(sqlite.stderr)")
        let before = try #require(Self.digest(db))
        for arguments in [["apply", "--auto-approve", "--offline"], ["status"]] {
            let result = scepops(arguments, repoArgument: arguments[0] != "status")
            #expect(result.status == 1)
            #expect(result.stderr.contains("is not a scepops state"), "\(result.stderr)")
            #expect(Self.digest(db) == before)
        }
        let serve = scepops(
            ["serve", "--listen", "127.0.0.1:0"], program: ["/usr/bin/timeout", "20", Command.scepops], repoArgument: false)
        #expect(serve.status == 1)
        #expect(serve.stderr.contains("error[not-a-state]"), "\(serve.stderr)")
    }

    @Test func aStateFromANewerScepopsIsRefused() throws {
        applied()
        let future = Command.run("/usr/bin/sqlite3", [db, "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')"])
        try #require(future.status == 0, "\(future.stderr)")
        let before = try #require(Self.digest(db))
        for arguments in [["apply", "--auto-approve", "--offline"], ["status"], ["drift", "--offline"]] {
            let result = scepops(arguments, repoArgument: arguments[0] != "status")
            #expect(result.status == 1)
            #expect(result.stderr.contains("error[newer-schema]"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("written by a newer scepops"))
            #expect(Self.digest(db) == before)
        }
    }

    @Test func theStateAndItsWriteAheadFilesAreMode0600() throws {
        // A held lease keeps a writer inside apply, so -wal and -shm exist while it runs.
        let marker = work.path + "/holding"
        var holding = environment
        holding["SCEPOPS_TEST_HOLD_APPLY"] = marker
        let held = try Command.start(
            Command.scepops, ["apply", "--auto-approve", "--offline", "--repo", repo.path, "--db", db], directory: work.path,
            environment: holding)
        defer { held.kill() }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: marker), Date() < deadline { usleep(50_000) }
        try #require(FileManager.default.fileExists(atPath: marker), "the apply never reached its transaction")
        for suffix in ["", "-wal", "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: db + suffix)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(suffix): \(attributes[.posixPermissions] ?? "?")")
        }
    }
}

import Foundation
import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// Reading a commit through libgit2, as CI checks repos out: branches, tags, short ids,
/// remote branches, shallow clones and detached heads, never touching the working tree.
@Suite("Reading a commit with --ref")
struct GitRefTests {
    private func load(_ path: String, ref: String?) -> ConfigValidator.Result {
        ConfigValidator.validate(ConfigLoader.load(repo: path, ref: ref, environment: ValidRepo.environment))
    }

    /// A repo with two commits: the first valid, the second with an ftp URL.
    private func twoCommits() async -> (repo: TempRepo, good: String, bad: String) {
        let repo = ValidRepo.make()
        await repo.commitAll("valid")
        await repo.git("tag", "v1")
        let good = await repo.git("rev-parse", "HEAD")
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "https:", with: "ftp:"))
        await repo.commitAll("broken")
        return await (repo, good, repo.git("rev-parse", "HEAD"))
    }

    @Test(arguments: ["v1", "HEAD~1", "GOOD", "GOOD_SHORT"])
    func refsNamingTheValidCommit(_ ref: String) async {
        let (repo, good, _) = await twoCommits()
        let resolved = ref.replacingOccurrences(of: "GOOD_SHORT", with: String(good.prefix(7)))
            .replacingOccurrences(of: "GOOD", with: good)
        let result = load(repo.path, ref: resolved)
        #expect(result.diagnostics.filter { $0.severity == .error } == [])
        #expect(result.state?.source.commit == good)
        #expect(result.state?.source.kind == .commit)
    }

    @Test func headAndBranchReadTheLatestCommit() async {
        let (repo, _, bad) = await twoCommits()
        for ref in ["HEAD", "main"] {
            let result = load(repo.path, ref: ref)
            #expect(result.diagnostics.map(\.code) == [.caURLScheme])
            #expect(result.diagnostics.first?.position?.line == 2)
            #expect(ConfigLoader.load(repo: repo.path, ref: ref, environment: [:]).source.commit == bad)
        }
    }

    @Test func theWorkingTreeIsNeitherReadNorTouched() async throws {
        let (repo, _, _) = await twoCommits()
        // Uncommitted: fix the URL and add garbage. --ref must still see the committed ftp URL.
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA)
        repo.write("profiles/garbage.mobileconfig", "not a plist")
        let status = await repo.git("status", "--porcelain")
        let result = load(repo.path, ref: "HEAD")
        #expect(result.diagnostics.map(\.code) == [.caURLScheme])
        let after = await repo.git("status", "--porcelain")
        #expect(after == status)
        #expect(try String(contentsOfFile: repo.path + "/certificate_authorities/wifi.yml", encoding: .utf8) == ValidRepo.wifiCA)

        let workingTree = ConfigLoader.load(repo: repo.path, ref: nil, environment: ValidRepo.environment)
        #expect(workingTree.source.kind == .workingTree)
        #expect(workingTree.source.dirty == true)
        let head = await repo.git("rev-parse", "HEAD")
        #expect(workingTree.source.commit == head)
    }

    @Test func aCleanWorkingTreeIsNotDirty() async {
        let repo = ValidRepo.make()
        await repo.commitAll()
        let config = ConfigLoader.load(repo: repo.path, ref: nil, environment: ValidRepo.environment)
        #expect(config.source.dirty == false)
        #expect(config.source.commit?.count == 40)
    }

    @Test func shallowCloneDetachedHeadAndRemoteBranch() async {
        let (origin, _, bad) = await twoCommits()
        let work = TempRepo()
        await work.git("clone", "-q", "--depth", "1", "file://\(origin.path)", "clone")
        let shallow = await work.git("rev-parse", "--is-shallow-repository", in: "clone")
        #expect(shallow == "true")
        await work.git("checkout", "-q", "--detach", "HEAD", in: "clone")

        for ref in ["HEAD", "origin/main", bad] {
            let result = load(work.path + "/clone", ref: ref)
            #expect(result.diagnostics.map(\.code) == [.caURLScheme], "ref \(ref)")
        }
        // The parent commit is not in a shallow clone: a clear error, not a crash.
        #expect(load(work.path + "/clone", ref: "HEAD~1").diagnostics.map(\.code) == [.refNotFound])
    }

    @Test func aConfigFolderInsideALargerRepository() async {
        let mono = TempRepo()
        for (path, content) in ValidRepo.files { mono.write("infra/gitops/" + path, content) }
        mono.write("README.md", "monorepo")
        await mono.commitAll()
        let result = load(mono.path + "/infra/gitops", ref: "HEAD")
        #expect(result.diagnostics == [])
        #expect(result.state?.profiles.map(\.path) == ["profiles/vpn/vpn.mobileconfig", "profiles/wifi.mobileconfig"])
    }

    @Test func symlinksInACommit() async {
        let repo = ValidRepo.make()
        repo.symlink("profiles/outside.mobileconfig", to: "../../etc/hostname")
        repo.symlink("profiles/alias.mobileconfig", to: "vpn/vpn.mobileconfig")
        await repo.commitAll()
        let config = ConfigLoader.load(repo: repo.path, ref: "HEAD", environment: ValidRepo.environment)
        let escaping = config.diagnostics.filter { $0.code == .symlinkEscapesRepo }
        #expect(escaping.map(\.file) == ["profiles/outside.mobileconfig"])
        // A link that stays inside is read through to its target.
        let alias = config.profiles.first { $0.path == "profiles/alias.mobileconfig" }
        #expect(alias?.content == config.profiles.first { $0.path == "profiles/vpn/vpn.mobileconfig" }?.content)
    }

    @Test func fileOverTheLimitInACommitIsRefusedBySize() async {
        let repo = ValidRepo.make()
        repo.write("profiles/big.mobileconfig", Data(repeating: 0x20, count: ConfigLoader.maximumFileBytes + 1))
        await repo.commitAll()
        let result = load(repo.path, ref: "HEAD")
        #expect(result.diagnostics.filter { $0.severity == .error }.map(\.code) == [.fileTooLarge])
    }
}

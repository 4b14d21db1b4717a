import CGit2
import Foundation
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

@testable import SCEPOpsConfig

/// Blobs read from a repository's packs without libgit2, checked against libgit2 reading
/// the same objects: whole objects and deltas (against an offset or an object id), long
/// chains, copies of 64 KiB, a damaged pack, objects the packs do not hold.
@Suite("Reading blobs from packs")
struct GitPacksTests {
    /// A repo whose files change over several commits, so that `git repack` stores most
    /// blobs as deltas of others, in chains.
    private func repackedRepo(offsetDeltas: Bool) async -> TempRepo {
        let repo = TempRepo()
        let filler = (0..<3000).map { "line \($0) of a large file\n" }.joined()
        for version in 0..<12 {
            for file in 0..<8 {
                let body = (0...version).map { "<key>Key\($0)</key><string>value \($0 * file) of \(file)</string>\n" }.joined()
                repo.write("profiles/p\(file).mobileconfig", "<plist>\n\(body)</plist>\n")
            }
            // Over 64 KiB, edited at both ends: copies of the whole 64 KiB a copy can say.
            repo.write("big.txt", "head \(version)\n" + filler + "tail \(version)\n")
            repo.write("empty.txt", "")
            await repo.commitAll("version \(version)")
        }
        await repo.git("-c", "repack.useDeltaBaseOffset=\(offsetDeltas)", "repack", "-adf", "--depth=50", "--window=50", "-q")
        return repo
    }

    /// Every blob id in the repo's history, from two runs of git (not one a blob: the suite
    /// runs many programs at once, and each one started is a chance to wait on another).
    private func blobIDs(_ repo: TempRepo) async -> [String] {
        let reachable = await Set(repo.git("rev-list", "--objects", "--all").split(separator: "\n").map { String($0.prefix(40)) })
        return await repo.git("cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
            .split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count == 2 && fields[1] == "blob" && reachable.contains(String(fields[0])) ? String(fields[0]) : nil
            }
    }

    private func oid(_ hex: String) -> git_oid {
        var id = git_oid()
        #expect(git_oid_fromstr(&id, hex) == 0)
        return id
    }

    /// The blob as libgit2 reads it.
    private func libgit2Blob(_ repo: TempRepo, _ hex: String) -> [UInt8]? {
        git_libgit2_init()
        var repository: OpaquePointer?
        guard git_repository_open(&repository, repo.path) == 0, let repository else { return nil }
        defer { git_repository_free(repository) }
        var id = oid(hex)
        var blob: OpaquePointer?
        guard git_blob_lookup(&blob, repository, &id) == 0, let blob else { return nil }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0 else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: git_blob_rawcontent(blob), count: size))
    }

    @Test(arguments: [true, false])
    func everyBlobReadsAsLibgit2ReadsIt(offsetDeltas: Bool) async throws {
        let repo = await repackedRepo(offsetDeltas: offsetDeltas)
        #expect(try FileManager.default.contentsOfDirectory(atPath: repo.path + "/.git/objects").sorted() == ["info", "pack"])
        // The pack holds deltas of the kind asked for, chained.
        let pack = await repo.git("rev-parse", "--git-path", "objects/pack")
        let index = try #require(
            try FileManager.default.contentsOfDirectory(atPath: repo.path + "/" + pack).first { $0.hasSuffix(".idx") })
        let verify = await repo.git("verify-pack", "-v", pack + "/" + index)
        let deltas = verify.split(separator: "\n").filter { $0.contains(" blob ") && $0.split(separator: " ").count >= 7 }
        #expect(deltas.count > 60)
        #expect(verify.contains("chain length = 5"))

        let packs = GitPacks(objectsFolder: repo.path + "/.git/objects")
        let ids = await blobIDs(repo)
        #expect(ids.count > 100)
        for hex in ids {
            let read = try packs.blob(oid(hex))
            #expect(read != nil, "\(hex) not read from the pack")
            let same = read == libgit2Blob(repo, hex)
            #expect(same, "\(hex) differs")
        }
    }

    @Test func aBlobOverTheLimitIsRefusedByItsSize() async throws {
        let repo = TempRepo()
        let limit = ConfigLoader.maximumFileBytes
        // Two versions, so that one is a delta of the other.
        repo.write("profiles/big.mobileconfig", Data(repeating: 0x20, count: limit + 1))
        await repo.commitAll("big")
        let older = await repo.git("rev-parse", "HEAD:profiles/big.mobileconfig")
        repo.write("profiles/big.mobileconfig", Data(repeating: 0x20, count: limit + 2) + Data("x".utf8))
        await repo.commitAll("bigger")
        let newer = await repo.git("rev-parse", "HEAD:profiles/big.mobileconfig")
        await repo.git("repack", "-adf", "-q")
        let verify = await repo.git("verify-pack", "-v", repo.git("rev-parse", "--git-path", "objects/pack") + "/"
            + (try #require(try FileManager.default.contentsOfDirectory(atPath: repo.path + "/.git/objects/pack").first { $0.hasSuffix(".idx") })))
        // git deltifies the older version against the newer one.
        #expect(verify.split(separator: "\n").contains { $0.hasPrefix(older) && $0.split(separator: " ").count >= 7 })

        let packs = GitPacks(objectsFolder: repo.path + "/.git/objects")
        for (hex, size) in [(older, limit + 1), (newer, limit + 3)] {
            do {
                _ = try packs.blob(oid(hex))
                Issue.record("\(hex) was read past the limit")
            } catch {
                #expect(error == ConfigError.tooLarge(size))
            }
        }
    }

    @Test func anObjectThePacksDoNotHoldIsLeftToLibgit2() async throws {
        let repo = await repackedRepo(offsetDeltas: true)
        repo.write("profiles/new.mobileconfig", "<plist>loose</plist>\n")
        await repo.commitAll("a loose object")
        let loose = await repo.git("rev-parse", "HEAD:profiles/new.mobileconfig")
        let packs = GitPacks(objectsFolder: repo.path + "/.git/objects")
        #expect(try packs.blob(oid(loose)) == nil)
        // A tree is not a blob.
        let tree = await repo.git("rev-parse", "HEAD~1^{tree}")
        #expect(try packs.blob(oid(tree)) == nil)
        // Read through the commit, the loose blob comes from libgit2.
        let config = ConfigLoader.load(repo: repo.path, ref: "HEAD", environment: [:])
        #expect(config.profiles.first { $0.path == "profiles/new.mobileconfig" }?.content == Array("<plist>loose</plist>\n".utf8))
    }

    @Test func aDamagedPackGivesNothingRatherThanWrongBytes() async throws {
        let repo = await repackedRepo(offsetDeltas: true)
        let ids = await blobIDs(repo)
        let original = ids.map { libgit2Blob(repo, $0) }
        let folder = repo.path + "/.git/objects/pack"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".pack") })
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
        // Every 97th byte past the header flipped: entry headers, offsets and zlib streams.
        for offset in stride(from: 12, to: bytes.count - 20, by: 97) { bytes[offset] ^= 0x5a }
        try FileManager.default.removeItem(atPath: folder + "/" + name)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))

        let packs = GitPacks(objectsFolder: repo.path + "/.git/objects")
        var unread = 0
        for (hex, expected) in zip(ids, original) {
            let read = try? packs.blob(oid(hex))
            if let read { #expect(read == expected, "\(hex) read wrong") } else { unread += 1 }
        }
        #expect(unread > ids.count / 2)

        // An index that is not one is no pack at all.
        let index = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".idx") })
        try FileManager.default.removeItem(atPath: folder + "/" + index)
        try Data("not an index".utf8).write(to: URL(fileURLWithPath: folder + "/" + index))
        #expect(try GitPacks(objectsFolder: repo.path + "/.git/objects").blob(oid(ids[0])) == nil)
    }

    /// Deltas as a damaged or hostile pack could hold them: each refused, none applied past
    /// its base or its claimed size, and a claimed size of a petabyte never allocated.
    @Test func malformedDeltasAreRefused() {
        let base = Array("0123456789".utf8)
        // Base size 10, result size 4: copy 4 bytes from offset 2.
        #expect(GitDelta.apply([10, 4, 0x91, 2, 4], to: base, limit: 100) == Array("2345".utf8))
        // Insert 3 bytes.
        #expect(GitDelta.apply([10, 3, 3, 0x61, 0x62, 0x63], to: base, limit: 100) == Array("abc".utf8))
        let refused: [(String, [UInt8])] = [
            ("a base of another size", [9, 4, 0x91, 2, 4]),
            ("a copy past the base", [10, 4, 0x91, 8, 4]),
            ("more bytes than the result holds", [10, 2, 0x91, 2, 4]),
            ("fewer bytes than the result holds", [10, 8, 0x91, 2, 4]),
            ("an insert past the delta", [10, 3, 5, 0x61]),
            ("the reserved instruction 0", [10, 1, 0]),
            ("a result of a petabyte", [10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x91, 0, 1]),
            ("a size that never ends", [10] + [UInt8](repeating: 0x80, count: 12)),
        ]
        for (what, delta) in refused {
            #expect(GitDelta.apply(delta, to: base, limit: 1 << 20) == nil, "\(what) was applied")
        }
    }
}

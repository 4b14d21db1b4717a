import CGit2
import Foundation
import Synchronization

/// The packs of a repository's object database, read without libgit2, so that several
/// threads read blobs at once (libgit2 locks a pack for each read, and its reads of a
/// large repo's blobs took twice as long as git's own). Delta bases are kept for the next
/// read that needs them, as git does. Only packs: a loose object, or one in another
/// repository's database (alternates), is not found here, and libgit2 reads it.
final class GitPacks: Sendable {
    private let packs: [GitPack]
    private let bases = Mutex(BaseCache())

    /// A base larger than this is left to libgit2 rather than inflated here.
    private static let largestObject = 64 << 20
    /// Deltas resolved one after another before giving up: git writes chains of 50 by
    /// default; a loop in a damaged pack must not go on forever.
    private static let longestChain = 10_000

    /// The packs in `objects/pack` whose index can be read; none when there are none.
    init(objectsFolder: String) {
        let folder = objectsFolder + "/pack"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        packs = names.filter { $0.hasSuffix(".idx") }.sorted().compactMap { name in
            let stem = folder + "/" + name.dropLast(".idx".count)
            return GitPack(index: stem + ".idx", pack: stem + ".pack")
        }
    }

    /// The blob's bytes, or nil when no pack holds it (or its entry cannot be read here).
    /// A blob over the loader's limit is refused by its size, before it is inflated.
    func blob(_ id: git_oid) throws(ConfigError) -> [UInt8]? {
        guard let (pack, offset) = locate(id), let entry = packs[pack].entry(at: offset) else { return nil }
        switch entry.kind {
        case .object(let type):
            guard type == GitPack.blobType else { return nil }
            if let tooLarge = ConfigError.tooLarge(entry.size) { throw tooLarge }
            return packs[pack].inflate(entry)
        case .offsetDelta, .referenceDelta:
            // The delta's header gives the blob's size: checked before the base is built.
            guard entry.size <= Self.largestObject, let delta = packs[pack].inflate(entry),
                let size = GitDelta.resultSize(delta)
            else { return nil }
            if let tooLarge = ConfigError.tooLarge(size) { throw tooLarge }
            guard let base = object(baseOf: entry, in: pack), base.type == GitPack.blobType else { return nil }
            return GitDelta.apply(delta, to: base.bytes, limit: size)
        }
    }

    private func locate(_ id: git_oid) -> (pack: Int, offset: Int)? {
        for (number, pack) in packs.enumerated() {
            if let offset = pack.offset(of: id) { return (number, offset) }
        }
        return nil
    }

    private func base(of entry: GitPack.Entry, in pack: Int) -> BaseCache.Key? {
        switch entry.kind {
        case .object: nil
        case .offsetDelta(let offset): BaseCache.Key(pack: pack, offset: offset)
        case .referenceDelta(let id): locate(id).map { BaseCache.Key(pack: $0.pack, offset: $0.offset) }
        }
    }

    /// The object a delta entry applies to: down its chain to a base already kept or a
    /// whole object, then back up applying each delta, keeping each result for later reads.
    private func object(baseOf top: GitPack.Entry, in pack: Int) -> BaseCache.Object? {
        var chain: [(key: BaseCache.Key, entry: GitPack.Entry)] = []
        var next = base(of: top, in: pack)
        var object: BaseCache.Object?
        while object == nil {
            guard let key = next, chain.count < Self.longestChain,
                let entry = packs[key.pack].entry(at: key.offset), entry.size <= Self.largestObject
            else { return nil }
            if let kept = bases.withLock({ $0[key] }) {
                object = kept
                break
            }
            if case .object(let type) = entry.kind {
                guard let bytes = packs[key.pack].inflate(entry) else { return nil }
                object = BaseCache.Object(type: type, bytes: bytes)
                bases.withLock { $0.keep(object!, at: key) }
                break
            }
            chain.append((key, entry))
            next = base(of: entry, in: key.pack)
        }
        guard var object else { return nil }
        for (key, entry) in chain.reversed() {
            guard let delta = packs[key.pack].inflate(entry),
                let bytes = GitDelta.apply(delta, to: object.bytes, limit: Self.largestObject)
            else { return nil }
            object.bytes = bytes
            bases.withLock { $0.keep(object, at: key) }
        }
        return object
    }
}

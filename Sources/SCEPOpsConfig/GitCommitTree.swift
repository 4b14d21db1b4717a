import CGit2
import Foundation
import SCEPOpsCore
import Synchronization

/// A config repo read from one commit through libgit2: nothing is checked out and the
/// working tree is not touched, so it works in CI's shallow, detached checkouts.
///
/// Sendable as `ConfigTree` asks: `read` touches only the packs (`GitPacks`, made to be
/// read from several threads), the object database, which libgit2 locks itself (its
/// threading notes), and the blob ids behind a mutex. Listing walks the trees, which libgit2
/// also reads under its locks; a folder's ids join the others in one go once it is walked,
/// so another folder's files may be read meanwhile.
public final class GitCommitTree: ConfigTree, @unchecked Sendable {
    public let source: ConfigSource
    private let repository: GitRepository
    private let commit: OpaquePointer
    /// The tree of the config folder (the commit's root tree, or a folder inside it).
    private let root: OpaquePointer
    private let database: OpaquePointer
    /// Blobs are read from the packs directly; libgit2 reads the others (loose objects).
    private let packs: GitPacks
    /// Blob ids of the files `entries` listed, symbolic links already resolved; an entry's
    /// handle is its number here.
    private let blobs = Mutex<[git_oid]>([])

    /// Symbolic links followed one after another before giving up (as the kernel does).
    private static let maximumLinkHops = 8

    public init(repository path: String, ref: String) throws(ConfigError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(.repoNotFound, "the repository folder \"\(path)\" does not exist")
        }
        repository = try GitRepository(discovering: path)
        commit = try repository.commit(ref)
        let prefix = repository.prefix(of: path)
        source = ConfigSource(kind: .commit, repository: path, ref: ref, commit: GitRepository.id(of: commit))

        var tree: OpaquePointer?
        guard git_commit_tree(&tree, commit) == 0, var tree else {
            git_object_free(commit)
            throw ConfigError(.gitError, "cannot read the tree of \(ref): \(GitRepository.lastError())")
        }
        if !prefix.isEmpty {
            guard let subtree = Self.subtree(prefix, in: tree, repository.pointer) else {
                git_tree_free(tree)
                git_object_free(commit)
                throw ConfigError(.refNotFound, "the folder \"\(prefix)\" does not exist in \(ref)")
            }
            git_tree_free(tree)
            tree = subtree
        }
        root = tree
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, repository.pointer) == 0, let odb else {
            git_tree_free(tree)
            git_object_free(commit)
            throw ConfigError(.gitError, "cannot open the object database: \(GitRepository.lastError())")
        }
        database = odb
        packs = GitPacks(objectsFolder: repository.objectsFolder)
    }

    deinit {
        git_odb_free(database)
        git_tree_free(root)
        git_object_free(commit)
    }

    public func entries(under folder: String) throws(ConfigError) -> [TreeEntry] {
        var entries: [TreeEntry] = []
        guard let resolved = resolve(folder, hops: 0) else { return [] }
        switch resolved {
        case .outside(let target):
            entries.append(TreeEntry(path: folder, size: 0, kind: .symlinkOutOfRepo(target: target)))
        case .tree(let tree):
            defer { git_tree_free(tree) }
            // Numbered from 0 here, then after the ids already kept (another folder's
            // files may be read meanwhile).
            var ids: [git_oid] = []
            try walk(tree, path: folder, into: &entries, ids: &ids, depth: 0)
            let first = blobs.withLock { kept in
                defer { kept += ids }
                return kept.count
            }
            for index in entries.indices { entries[index].handle? += first }
        case .blob:
            break
        }
        // git orders a tree's entries by name, a folder's as if it ended in "/": a walk
        // comes out in path order already, unless a link to a folder was followed.
        if !entries.indices.dropFirst().allSatisfy({ entries[$0 - 1].path < entries[$0].path }) {
            entries.sort { $0.path < $1.path }
        }
        return entries
    }

    public func hasFolder(_ folder: String) -> Bool {
        switch resolve(folder, hops: 0) {
        case .tree(let tree):
            git_tree_free(tree)
            return true
        case .outside: return true
        case .blob, nil: return false
        }
    }

    public func read(_ entry: TreeEntry) throws(ConfigError) -> [UInt8] {
        guard var id = entry.handle.flatMap({ handle in blobs.withLock { $0.indices.contains(handle) ? $0[handle] : nil } })
        else {
            throw ConfigError(.fileUnreadable, "the file is not in the commit")
        }
        if let content = try packs.blob(id) { return content }
        // The header gives the size without inflating the blob: one too large is refused
        // before it is read.
        var size = 0
        var type = GIT_OBJECT_BLOB
        guard git_odb_read_header(&size, &type, database, &id) == 0 else {
            throw ConfigError(.fileUnreadable, "cannot read the blob: \(GitRepository.lastError())")
        }
        if let tooLarge = ConfigError.tooLarge(size) { throw tooLarge }
        // Straight from the object database: a blob read once is not kept in libgit2's
        // object cache, which only costs a lock and a copy per file.
        var object: OpaquePointer?
        guard git_odb_read(&object, database, &id) == 0, let object else {
            throw ConfigError(.fileUnreadable, "cannot read the blob: \(GitRepository.lastError())")
        }
        defer { git_odb_object_free(object) }
        let length = git_odb_object_size(object)
        guard length > 0, let content = git_odb_object_data(object) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: content, count: length))
    }

    // MARK: - Walking

    private func walk(
        _ tree: OpaquePointer, path: String, into entries: inout [TreeEntry], ids: inout [git_oid], depth: Int
    ) throws(ConfigError) {
        guard depth < 64 else { return }
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            var entryPath = path
            entryPath += "/"
            entryPath += String(cString: git_tree_entry_name(entry))
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                var subtree: OpaquePointer?
                guard git_tree_lookup(&subtree, repository.pointer, git_tree_entry_id(entry)) == 0, let subtree else {
                    continue
                }
                defer { git_tree_free(subtree) }
                try walk(subtree, path: entryPath, into: &entries, ids: &ids, depth: depth + 1)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                Self.file(entryPath, git_tree_entry_id(entry).pointee, into: &entries, ids: &ids)
            case GIT_FILEMODE_LINK:
                switch resolve(entryPath, hops: 0) {
                case .outside(let target):
                    entries.append(TreeEntry(path: entryPath, size: 0, kind: .symlinkOutOfRepo(target: target)))
                case .blob(let id):
                    Self.file(entryPath, id, into: &entries, ids: &ids)
                case .tree(let subtree):
                    defer { git_tree_free(subtree) }
                    try walk(subtree, path: entryPath, into: &entries, ids: &ids, depth: depth + 1)
                case nil:
                    continue
                }
            default:
                continue  // submodules
            }
        }
    }

    /// A blob's size is known once it is read (`read` checks it first).
    private static func file(_ path: String, _ id: git_oid, into entries: inout [TreeEntry], ids: inout [git_oid]) {
        entries.append(TreeEntry(path: path, size: nil, kind: .file, handle: ids.count))
        ids.append(id)
    }

    private enum Resolved {
        case blob(git_oid)
        /// Owned by the caller, who frees it.
        case tree(OpaquePointer)
        case outside(target: String)
    }

    /// What `path` names in the config tree, following symbolic links while they stay
    /// inside it; nil when nothing is there.
    private func resolve(_ path: String, hops: Int) -> Resolved? {
        var entry: OpaquePointer?
        guard git_tree_entry_bypath(&entry, root, path) == 0, let entry else { return nil }
        defer { git_tree_entry_free(entry) }
        let id = git_tree_entry_id(entry).pointee
        switch git_tree_entry_filemode(entry) {
        case GIT_FILEMODE_TREE:
            var tree: OpaquePointer?
            var lookup = id
            guard git_tree_lookup(&tree, repository.pointer, &lookup) == 0, let tree else { return nil }
            return .tree(tree)
        case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
            return .blob(id)
        case GIT_FILEMODE_LINK:
            guard hops < Self.maximumLinkHops, let target = linkTarget(id) else { return nil }
            let directory = path.split(separator: "/").dropLast().map(String.init)
            guard let inside = Self.normalize(target, from: directory) else { return .outside(target: target) }
            return resolve(inside, hops: hops + 1)
        default:
            return nil
        }
    }

    private func linkTarget(_ id: git_oid) -> String? {
        var id = id
        var blob: OpaquePointer?
        guard git_blob_lookup(&blob, repository.pointer, &id) == 0, let blob else { return nil }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, size < 4096, let content = git_blob_rawcontent(blob) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: content, count: size), as: UTF8.self)
    }

    /// A link target made relative to the config root, or nil when it leaves it.
    static func normalize(_ target: String, from directory: [String]) -> String? {
        guard !target.hasPrefix("/") else { return nil }
        var segments = directory
        for segment in target.split(separator: "/") {
            switch segment {
            case ".": continue
            case "..":
                guard segments.popLast() != nil else { return nil }
            default: segments.append(String(segment))
            }
        }
        return segments.isEmpty ? nil : segments.joined(separator: "/")
    }

    private static func subtree(_ path: String, in tree: OpaquePointer, _ repository: OpaquePointer) -> OpaquePointer? {
        var entry: OpaquePointer?
        guard git_tree_entry_bypath(&entry, tree, path) == 0, let entry else { return nil }
        defer { git_tree_entry_free(entry) }
        guard git_tree_entry_type(entry) == GIT_OBJECT_TREE else { return nil }
        var subtree: OpaquePointer?
        guard git_tree_lookup(&subtree, repository, git_tree_entry_id(entry)) == 0 else { return nil }
        return subtree
    }
}

import CGit2
import Foundation
import SCEPOpsCore

/// A git repository opened through libgit2. Not thread-safe (libgit2 objects are not):
/// each reader opens its own.
final class GitRepository {
    let pointer: OpaquePointer
    /// The working directory, with symbolic links resolved; nil for a bare repository.
    let workdir: String?

    private static let initialized: Bool = {
        git_libgit2_init()
        _ = scepops_git_disable_owner_validation()
        _ = scepops_git_disable_hash_verification()
        return true
    }()

    /// Starts libgit2 on a thread of its own, so that the few milliseconds it spends
    /// loading the system's CA certificates (for HTTPS, which scepops never asks of it)
    /// pass while the command line is parsed. Whoever opens a repository first waits for it.
    static func startInBackground() {
        Thread.detachNewThread { _ = initialized }
    }

    /// Waits for that start to end: a process exiting while it runs (`--help` does, in a
    /// millisecond) tears the TLS libraries down under it, and crashed once so.
    static func waitForStart() {
        _ = initialized
    }

    /// Opens the repository that contains `path`, searching upwards as git does, so a
    /// config repo can be a folder inside a larger repository.
    init(discovering path: String) throws(ConfigError) {
        _ = Self.initialized
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, path, 0, nil) == 0, let repository else {
            throw ConfigError(.repoNotFound, "\"\(path)\" is not inside a git repository: \(Self.lastError())")
        }
        pointer = repository
        workdir = git_repository_workdir(repository).flatMap { WorkingTree.realPath(String(cString: $0)) }
    }

    deinit {
        git_repository_free(pointer)
    }

    /// The object database's folder (a linked worktree's is its main repository's).
    var objectsFolder: String {
        String(cString: git_repository_commondir(pointer)) + "objects"
    }

    /// The path of `folder` relative to the working directory ("" for its root).
    func prefix(of folder: String) -> String {
        guard let workdir, let real = WorkingTree.realPath(folder), real.hasPrefix(workdir) else { return "" }
        return real.dropFirst(workdir.count).split(separator: "/").joined(separator: "/")
    }

    /// The commit `ref` names (branch, tag, full or short id, `HEAD`, `origin/main`, …).
    func commit(_ ref: String) throws(ConfigError) -> OpaquePointer {
        var object: OpaquePointer?
        guard git_revparse_single(&object, pointer, ref) == 0, let object else {
            throw ConfigError(.refNotFound, "the ref \"\(ref)\" does not exist in the repository")
        }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        guard git_object_peel(&commit, object, GIT_OBJECT_COMMIT) == 0, let commit else {
            throw ConfigError(.refNotFound, "the ref \"\(ref)\" does not name a commit")
        }
        return commit
    }

    static func id(of object: OpaquePointer) -> String {
        String(cString: git_oid_tostr_s(git_object_id(object)))
    }

    /// The id of HEAD's commit, or nil in a repository with no commits yet.
    func headCommit() -> String? {
        guard let commit = try? commit("HEAD") else { return nil }
        defer { git_object_free(commit) }
        return Self.id(of: commit)
    }

    /// Whether anything below `prefix` differs from HEAD, untracked files included.
    func isDirty(under prefix: String) -> Bool {
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue
        var spec = prefix.isEmpty ? nil : strdup(prefix)
        defer { free(spec) }
        var list: OpaquePointer?
        let status = withUnsafeMutablePointer(to: &spec) { specPointer in
            if !prefix.isEmpty { options.pathspec = git_strarray(strings: specPointer, count: 1) }
            return git_status_list_new(&list, pointer, &options)
        }
        guard status == 0, let list else { return true }
        defer { git_status_list_free(list) }
        return git_status_list_entrycount(list) > 0
    }

    static func lastError() -> String {
        guard let error = git_error_last(), let message = error.pointee.message else { return "unknown libgit2 error" }
        return String(cString: message)
    }
}

import Foundation
import SCEPOpsCore

/// A config repo read from a folder on disk, which need not be a git repository.
///
/// Symbolic links are followed only while they stay inside the repository; one that
/// points out of it is listed as such and never read.
public final class WorkingTree: ConfigTree {
    public let source: ConfigSource
    /// The repository folder with every symbolic link resolved.
    private let root: String

    /// The folder's files only: the commit and whether it is dirty come from `gitState`,
    /// which the loader runs beside the reading (a status check stats every file).
    public init(repository: String) throws(ConfigError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repository, isDirectory: &isDirectory), isDirectory.boolValue,
            let root = Self.realPath(repository)
        else {
            throw ConfigError(.repoNotFound, "the repository folder \"\(repository)\" does not exist")
        }
        self.root = root
        source = ConfigSource(kind: .workingTree, repository: repository)
    }

    /// The commit checked out where the folder is in a git repository, and whether the
    /// folder differs from it.
    public func gitState() -> (commit: String?, dirty: Bool?) {
        guard let git = try? GitRepository(discovering: root), let commit = git.headCommit() else { return (nil, nil) }
        return (commit, git.isDirty(under: git.prefix(of: root)))
    }

    public func entries(under folder: String) throws(ConfigError) -> [TreeEntry] {
        var entries: [TreeEntry] = []
        var visited: Set<String> = []
        walk(folder, into: &entries, visited: &visited)
        return entries.sorted { $0.path < $1.path }
    }

    /// Read with POSIX calls into the array: Foundation's `FileHandle` cost more than the
    /// read itself, ten thousand times over. Non-blocking, in case a FIFO took the file's place.
    public func read(_ entry: TreeEntry) throws(ConfigError) -> [UInt8] {
        let descriptor = open(root + "/" + entry.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw ConfigError(.fileUnreadable, "the file cannot be opened") }
        defer { close(descriptor) }
        // Read no more than the size limit allows, even if the file grew since it was listed.
        let limit = ConfigLoader.maximumFileBytes + 1
        var bytes = [UInt8](repeating: 0, count: min((entry.size ?? 16_384) + 1, limit))
        var length = 0
        while length < limit {
            if length == bytes.count { bytes += repeatElement(0, count: min(bytes.count, limit - length)) }
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + length, $0.count - length) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw ConfigError(.fileUnreadable, "the file cannot be read: \(String(cString: strerror(errno)))")
            }
            length += count
        }
        bytes.removeSubrange(length...)
        if let tooLarge = ConfigError.tooLarge(length) { throw tooLarge }
        return bytes
    }

    private func walk(_ relative: String, into entries: inout [TreeEntry], visited: inout Set<String>) {
        let absolute = root + "/" + relative
        guard let real = Self.realPath(absolute) else { return }
        guard real == root || real.hasPrefix(root + "/") else {
            // Only a top-level folder gets here: links below it are checked before the walk.
            let written = (try? FileManager.default.destinationOfSymbolicLink(atPath: absolute)) ?? real
            entries.append(TreeEntry(path: relative, size: 0, kind: .symlinkOutOfRepo(target: written)))
            return
        }
        guard visited.insert(real).inserted else { return }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: absolute) else {
            if FileManager.default.fileExists(atPath: absolute) {
                entries.append(TreeEntry(path: relative, size: 0, kind: .unreadableFolder))
            }
            return
        }
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = relative + "/" + name
            var info = stat()
            guard lstat(root + "/" + path, &info) == 0 else { continue }
            var kind = info.st_mode & S_IFMT
            if kind == S_IFLNK {
                guard let target = Self.realPath(root + "/" + path), target == root || target.hasPrefix(root + "/") else {
                    let written = (try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + path)) ?? "?"
                    entries.append(TreeEntry(path: path, size: 0, kind: .symlinkOutOfRepo(target: written)))
                    continue
                }
                guard stat(target, &info) == 0 else { continue }
                kind = info.st_mode & S_IFMT
            }
            if kind == S_IFDIR {
                walk(path, into: &entries, visited: &visited)
            } else if kind == S_IFREG {
                entries.append(TreeEntry(path: path, size: Int(info.st_size), kind: .file))
            } else {
                let what = kind == S_IFIFO ? "a FIFO" : kind == S_IFSOCK ? "a socket" : "a device"
                entries.append(TreeEntry(path: path, size: 0, kind: .special(what)))
            }
        }
    }

    public func hasFolder(_ folder: String) -> Bool {
        var isDirectory: ObjCBool = false
        let path = root + "/" + folder
        var info = stat()
        // A link out of the repo is still "there": it is reported, not taken for no config.
        return (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
            || (lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

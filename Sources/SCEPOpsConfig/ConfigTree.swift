import SCEPOpsCore

/// A file found in a config repo, described before it is read.
public struct TreeEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file
        /// A symbolic link whose target lies outside the repository; never read.
        case symlinkOutOfRepo(target: String)
        /// A FIFO, socket or device (named in words); never opened, since a FIFO would block.
        case special(String)
        /// A folder whose listing cannot be read.
        case unreadableFolder
    }

    /// Repo-relative, with `/` separators.
    public var path: String
    /// The size in bytes, when known without reading the file; otherwise `read` checks it
    /// against the limit before reading (a blob in git, whose size is in its header).
    public var size: Int?
    public var kind: Kind
    /// Where the tree that listed the file finds it again (a git commit: the number of its
    /// blob id); nil when it reads by path.
    public var handle: Int?

    public init(path: String, size: Int?, kind: Kind, handle: Int? = nil) {
        self.path = path
        self.size = size
        self.kind = kind
        self.handle = handle
    }
}

/// The files of a config repo: a working tree on disk, or a commit read through git.
/// Both list and read the same way, so the loader does not care which it has. The loader
/// reads files from several threads at once; it lists them from one.
public protocol ConfigTree: Sendable {
    var source: ConfigSource { get }
    /// Every file below `folder` (repo-relative), recursively, sorted by path. A missing
    /// folder has no files.
    func entries(under folder: String) throws(ConfigError) -> [TreeEntry]
    /// The bytes of a file listed by `entries`; a file over `ConfigLoader.maximumFileBytes`
    /// is refused with `ConfigError.tooLarge`.
    func read(_ entry: TreeEntry) throws(ConfigError) -> [UInt8]
    /// Whether the top-level `folder` is there at all (a folder, or a link to one).
    func hasFolder(_ folder: String) -> Bool
}

/// A failure to read the repo as a whole (as opposed to a finding in one file).
public struct ConfigError: Error, Sendable, Hashable {
    public var code: DiagnosticCode
    public var message: String

    public init(_ code: DiagnosticCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The refusal of a file of `size` bytes, or nil when it is within the limit.
    public static func tooLarge(_ size: Int) -> ConfigError? {
        guard size > ConfigLoader.maximumFileBytes else { return nil }
        return ConfigError(
            .fileTooLarge, "the file is \(size) bytes; the limit is \(ConfigLoader.maximumFileBytes) bytes (10 MiB)")
    }
}

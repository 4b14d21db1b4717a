import SCEPOpsConfig
import SCEPOpsCore

/// A config tree held in memory: a third `ConfigTree` beside the working tree and git,
/// for feeding the loader thousands of generated inputs without touching the disk.
public struct InMemoryTree: ConfigTree {
    public var files: [String: [UInt8]]
    public var source = ConfigSource(kind: .workingTree, repository: "(memory)")

    public init(_ files: [String: [UInt8]]) {
        self.files = files
    }

    public func entries(under folder: String) throws(ConfigError) -> [TreeEntry] {
        files.keys.filter { $0.hasPrefix(folder + "/") }.sorted()
            .map { TreeEntry(path: $0, size: files[$0]!.count, kind: .file) }
    }

    public func hasFolder(_ folder: String) -> Bool {
        files.keys.contains { $0.hasPrefix(folder + "/") }
    }

    public func read(_ entry: TreeEntry) throws(ConfigError) -> [UInt8] {
        guard let bytes = files[entry.path] else { throw ConfigError(.fileUnreadable, "no such file") }
        return bytes
    }
}

import SCEPOpsCore

/// Reads the three folders of a config repo (docs/contract.md §1) into an `UnvalidatedConfig`.
public enum ConfigLoader {
    public static let certificateAuthoritiesFolder = "certificate_authorities"
    public static let teamsFolder = "teams"
    public static let profilesFolder = PathPattern.profilesFolder
    /// Larger files are refused by their size, before anything is read.
    public static let maximumFileBytes = 10 * 1024 * 1024

    /// Readies what `load` needs before it is called: the composition root asks as it starts.
    public static func prepare() {
        GitRepository.startInBackground()
    }

    /// Before the process exits: lets what `prepare` started finish.
    public static func finishPreparing() {
        GitRepository.waitForStart()
    }

    /// Opens `repo` (its working tree, or the commit `ref` names) and reads it. A repo
    /// that cannot be opened is reported as a diagnostic, like any other finding. Without
    /// `readsSecrets`, secret fields are left unread (`plan --without-secrets`).
    public static func load(repo: String, ref: String?, environment: [String: String], readsSecrets: Bool = true)
        -> UnvalidatedConfig
    {
        do {
            if let ref {
                return load(try GitCommitTree(repository: repo, ref: ref), environment: environment, readsSecrets: readsSecrets)
            }
            let tree = try WorkingTree(repository: repo)
            // git's status check stats every file again: it runs beside the reading.
            var (config, state) = concurrently {
                load(tree, environment: environment, readsSecrets: readsSecrets)
            } _: {
                tree.gitState()
            }
            (config.source.commit, config.source.dirty) = state
            return config
        } catch {
            let source = ConfigSource(kind: ref == nil ? .workingTree : .commit, repository: repo, ref: ref)
            return UnvalidatedConfig(source: source, diagnostics: [.error(error.code, file: nil, error.message)])
        }
    }

    public static func load(_ tree: any ConfigTree, environment: [String: String], readsSecrets: Bool = true)
        -> UnvalidatedConfig
    {
        var config = UnvalidatedConfig(source: tree.source)
        let expander = EnvironmentExpander(environment: environment)
        do {
            let caFiles = try configFiles(tree, certificateAuthoritiesFolder, ".yml", ".yaml")
            let teamFiles = try configFiles(tree, teamsFolder, ".yml", ".yaml")
            // The profiles are listed, then read on every core, while the YAML files are read
            // and parsed beside them.
            let (listed, (cas, teams)) = concurrently {
                Result { () throws(ConfigError) in try configFiles(tree, profilesFolder, ".mobileconfig") }.map { files in
                    files.concurrentMap { entry in
                        var diagnostics: [Diagnostic] = []
                        return (ProfileFile(path: entry.path, content: read(entry, tree, &diagnostics)), diagnostics)
                    }
                }
            } _: {
                let read = YAMLFiles(tree: tree, expander: expander, readsSecrets: readsSecrets)
                return (read(caFiles) { $0.readCertificateAuthority($1) }, read(teamFiles) { $0.readTeam($1) })
            }
            let profiles = try listed.get()
            for (document, diagnostics) in cas {
                if let document { config.certificateAuthorities.append(document) }
                config.diagnostics += diagnostics
            }
            for (document, diagnostics) in teams {
                if let document { config.teams.append(document) }
                config.diagnostics += diagnostics
            }
            for (profile, diagnostics) in profiles {
                config.profiles.append(profile)
                config.diagnostics += diagnostics
            }
        } catch {
            config.diagnostics.append(.error(error.code, file: nil, error.message))
        }
        let folders = [certificateAuthoritiesFolder, teamsFolder, profilesFolder]
        if !folders.contains(where: tree.hasFolder) {
            config.diagnostics.append(
                .error(
                    .noConfiguration, file: nil,
                    "no configuration found in \(tree.source.repository): none of \(folders.map { $0 + "/" }.joined(separator: ", ")) exists. Point --repo at the config folder"))
        }
        return config
    }

    /// The folder's files with one of the suffixes, and whatever else must be reported
    /// rather than passed over: the top-level folder itself (a link out of the repo), FIFOs
    /// and the like, folders that cannot be listed.
    private static func configFiles(_ tree: any ConfigTree, _ folder: String, _ suffixes: String...)
        throws(ConfigError) -> [TreeEntry]
    {
        try tree.entries(under: folder).filter { entry in
            switch entry.kind {
            case .special, .unreadableFolder: true
            case .symlinkOutOfRepo where entry.path == folder: true
            case .file, .symlinkOutOfRepo: suffixes.contains { entry.path.hasSuffix($0) }
            }
        }
    }

    /// Reads YAML files and parses each into its document, on every core.
    private struct YAMLFiles {
        let tree: any ConfigTree
        let expander: EnvironmentExpander
        let readsSecrets: Bool

        /// Each file's document (none when it cannot be read, is not UTF-8 or does not
        /// parse) and its findings, in order.
        func callAsFunction<Document>(
            _ files: [TreeEntry], _ parse: (inout YAMLDocumentReader, String) -> Document?
        ) -> [(Document?, [Diagnostic])] {
            files.concurrentMap { entry in
                var diagnostics: [Diagnostic] = []
                guard let bytes = ConfigLoader.read(entry, tree, &diagnostics) else { return (nil, diagnostics) }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    return (nil, [.error(.notUTF8, file: entry.path, "the file is not valid UTF-8")])
                }
                var reader = YAMLDocumentReader(file: entry.path, expander: expander)
                reader.readsSecrets = readsSecrets
                let document = parse(&reader, text)
                return (document, reader.diagnostics)
            }
        }
    }

    /// The file's bytes, or nil with the reason reported.
    private static func read(_ entry: TreeEntry, _ tree: any ConfigTree, _ diagnostics: inout [Diagnostic]) -> [UInt8]? {
        switch entry.kind {
        case .symlinkOutOfRepo(let target):
            diagnostics.append(
                .error(.symlinkEscapesRepo, file: entry.path,
                    "is a symbolic link to \"\(target)\", outside the repository; it is not read"))
            return nil
        case .special(let what):
            diagnostics.append(.error(.notARegularFile, file: entry.path, "is \(what), not a regular file; it is not read"))
            return nil
        case .unreadableFolder:
            diagnostics.append(.error(.folderUnreadable, file: entry.path, "the folder cannot be listed (permission denied?)"))
            return nil
        case .file:
            break
        }
        if let size = entry.size, let tooLarge = ConfigError.tooLarge(size) {
            diagnostics.append(.error(tooLarge.code, file: entry.path, tooLarge.message))
            return nil
        }
        do {
            return try tree.read(entry)
        } catch {
            diagnostics.append(.error(error.code, file: entry.path, error.message))
            return nil
        }
    }
}

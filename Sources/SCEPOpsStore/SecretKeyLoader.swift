import Foundation

/// Where the secret key comes from (docs/contract.md §3): `$SCEPOPS_SECRET_KEY` (base64 of 32 bytes),
/// else `--key-file`, else the embedded default `<db>.key`, created with mode 0600 on
/// first use.
public enum SecretKeyLoader {
    public static let environmentVariable = "SCEPOPS_SECRET_KEY"

    /// `notice` is told when a key file is created, for the user to see on stderr. With
    /// `create` false a missing default key file is an error.
    public static func load(
        environment: [String: String], keyFile: String?, database: String, create: Bool = true,
        notice: (String) -> Void
    ) throws(StoreError) -> SecretBox {
        if let encoded = environment[environmentVariable] {
            return try SecretBox(key: decode(encoded, from: "$\(environmentVariable)"))
        }
        if let keyFile {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                throw StoreError(.keyFile, "cannot read the key file \(keyFile)")
            }
            return try SecretBox(key: decode(text, from: keyFile))
        }
        let path = defaultKeyPath(database: database)
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw StoreError(.keyFile, "cannot read the key file \(path)")
            }
            return try SecretBox(key: decode(text, from: path))
        }
        guard create else {
            throw StoreError(
                .keyFile,
                "the state \(database) exists but its key \(path) does not; set SCEPOPS_SECRET_KEY or --key-file to the key it was created with")
        }
        let key = SecretBox.randomKey()
        try createExclusively(path, contents: Data(key).base64EncodedString() + "\n")
        notice(
            "scepops: created the secret key \(path) (mode 0600). Keep it with the database and back it up: without it the state's secrets cannot be read."
        )
        return try SecretBox(key: key)
    }

    /// The embedded default's key file beside the state.
    public static func defaultKeyPath(database: String) -> String { database + ".key" }

    private static func decode(_ text: String, from source: String) throws(StoreError) -> [UInt8] {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            data.count == SecretBox.keyLength
        else {
            throw StoreError(.badKey, "\(source) must hold base64 of \(SecretBox.keyLength) bytes (e.g. openssl rand -base64 32)")
        }
        return [UInt8](data)
    }

    /// Written whole to a temporary file (mode 0600 from the start, never world-readable),
    /// synced, then linked into place: a failed write (a full disk) leaves no key file, and
    /// `link` never overwrites a key another process just made.
    /// A copied SQLite state gets its source's key beside it, unless a key is given.
    public static func copyDefaultKey(from database: String, to target: String) throws(StoreError) {
        let source = defaultKeyPath(database: database)
        guard let text = try? String(contentsOfFile: source, encoding: .utf8) else {
            throw StoreError(.keyFile, "cannot read the key file \(source)")
        }
        try createExclusively(defaultKeyPath(database: target), contents: text)
    }

    private static func createExclusively(_ path: String, contents: String) throws(StoreError) {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.keyFile, "cannot create the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let bytes = Array(contents.utf8)
        let written = write(descriptor, bytes, bytes.count) == bytes.count && fsync(descriptor) == 0
        let failure = errno
        close(descriptor)
        guard written else {
            throw StoreError(.keyFile, "cannot write the key file \(path): \(String(cString: strerror(failure)))")
        }
        guard link(temporary, path) == 0 else {
            throw StoreError(.keyFile, "cannot create the key file \(path): \(String(cString: strerror(errno)))")
        }
        // The new name is durable once its folder is.
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}

import Foundation

/// Where the secret key comes from (SPEC §3): `$SCEPOPS_SECRET_KEY` (base64 of 32 bytes),
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
        let path = database + ".key"
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

    private static func decode(_ text: String, from source: String) throws(StoreError) -> [UInt8] {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            data.count == SecretBox.keyLength
        else {
            throw StoreError(.badKey, "\(source) must hold base64 of \(SecretBox.keyLength) bytes (e.g. openssl rand -base64 32)")
        }
        return [UInt8](data)
    }

    /// Created exclusively with mode 0600 from the start: never world-readable, not even
    /// for a moment, and never overwriting a key another process just made.
    private static func createExclusively(_ path: String, contents: String) throws(StoreError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.keyFile, "cannot create the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw StoreError(.keyFile, "cannot write the key file \(path)")
        }
    }
}

import Foundation
import COpenSSL
import SCEPOpsCore

/// Encrypts secrets for the state with AES-256-GCM and a random 96-bit nonce, and makes
/// keyed digests of them (HMAC-SHA-256) that a plan can carry and compare without
/// holding the secret.
///
/// Sealed layout: version (1 byte, 1) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
public struct SecretBox: Sendable {
    public static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16
    static let version: UInt8 = 1

    private let key: [UInt8]

    public init(key: [UInt8]) throws(StoreError) {
        guard key.count == Self.keyLength else {
            throw StoreError(.badKey, "the secret key must be \(Self.keyLength) bytes, found \(key.count)")
        }
        self.key = key
    }

    public static func randomKey() -> [UInt8] {
        randomBytes(keyLength)
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        let nonce = Self.randomBytes(Self.nonceLength)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("OpenSSL: out of memory") }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        var total: Int32 = 0
        let ok =
            EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && scepops_evp_gcm_set_ivlen(context, Int32(Self.nonceLength)) == 1
            && EVP_EncryptInit_ex(context, nil, nil, key, nonce) == 1
            && EVP_EncryptUpdate(context, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1
            && {
                total = length
                return ciphertext.withUnsafeMutableBufferPointer {
                    EVP_EncryptFinal_ex(context, $0.baseAddress! + Int(total), &length) == 1
                }
            }()
            && scepops_evp_gcm_get_tag(context, Int32(Self.tagLength), &tag) == 1
        // Encryption with a valid key cannot fail short of a broken OpenSSL.
        precondition(ok, "OpenSSL AES-256-GCM encryption failed")
        total += length
        return [Self.version] + nonce + ciphertext.prefix(Int(total)) + tag
    }

    public func open(_ sealed: [UInt8]) throws(StoreError) -> [UInt8] {
        guard sealed.count >= 1 + Self.nonceLength + Self.tagLength, sealed[0] == Self.version else {
            throw StoreError(.corrupt, "a sealed secret in the state is malformed")
        }
        let nonce = Array(sealed[1...Self.nonceLength])
        let body = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        var tag = Array(sealed.suffix(Self.tagLength))
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("OpenSSL: out of memory") }
        defer { EVP_CIPHER_CTX_free(context) }
        var plaintext = [UInt8](repeating: 0, count: body.count + 16)
        var length: Int32 = 0
        var total: Int32 = 0
        let ok =
            EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && scepops_evp_gcm_set_ivlen(context, Int32(Self.nonceLength)) == 1
            && EVP_DecryptInit_ex(context, nil, nil, key, nonce) == 1
            && EVP_DecryptUpdate(context, &plaintext, &length, body, Int32(body.count)) == 1
            && scepops_evp_gcm_set_tag(context, Int32(Self.tagLength), &tag) == 1
            && {
                total = length
                return plaintext.withUnsafeMutableBufferPointer {
                    // The tag is checked here: a wrong key fails, it never yields garbage.
                    EVP_DecryptFinal_ex(context, $0.baseAddress! + Int(total), &length) == 1
                }
            }()
        guard ok else { throw Self.wrongKey }
        total += length
        return Array(plaintext.prefix(Int(total)))
    }

    public func seal(_ secret: Secret) -> [UInt8] {
        seal(Array(secret.revealed.utf8))
    }

    public func openSecret(_ sealed: [UInt8]) throws(StoreError) -> Secret {
        Secret(String(decoding: try open(sealed), as: UTF8.self))
    }

    /// HMAC-SHA-256 of the secret under the key, hex. Without the key it cannot be
    /// brute-forced offline, so a plan file or the state can hold it.
    public func digest(_ secret: Secret) -> String {
        Self.hex(hmac(Array(("scepops-secret-digest\u{0}" + secret.revealed).utf8)))
    }

    func hmac(_ message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &output, &length)
        return Array(output.prefix(Int(length)))
    }

    public static let wrongKey = StoreError(
        .wrongKey,
        "the state was encrypted with a different key: set SCEPOPS_SECRET_KEY or --key-file to the key it was created with")

    /// A team's check-in reference: derived from its enroll secret's keyed digest, so only
    /// a holder of the state's key and the secret can make it, and it reveals neither.
    /// 128 bits, hex.
    public static func checkInReference(digest: String) -> String {
        String(sha256(Array("scepops-check-in\u{0}\(digest)".utf8)).prefix(32))
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(bytes, bytes.count, &digest)
        return hex(digest)
    }

    /// 24 random bytes, base64url without padding (32 characters), as Fleet's challenges.
    public static func randomToken() -> String {
        // base64url by bytes: Foundation's replacingOccurrences cost the worker more than the randomness.
        let url = Data(randomBytes(24)).base64EncodedData().map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
        return String(decoding: url, as: UTF8.self)
    }

    /// A random (version 4) UUID in its upper-case text form, from OpenSSL's generator:
    /// Foundation's `UUID()` opens /dev/urandom for each one, and the worker makes one per command.
    public static func randomUUID() -> String {
        var bytes = randomBytes(16)
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
            bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])).uuidString
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&bytes, Int32(count)) == 1, "OpenSSL could not produce random bytes")
        return bytes
    }

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
}

import COpenSSL

/// An RSA private key held by OpenSSL, freed with its owner.
public final class RSAKey: @unchecked Sendable {
    package let pointer: OpaquePointer

    public struct Failure: Error, Sendable, Hashable {
        public var message: String
    }

    /// A new key of `bits` (the SCEP payload's `Keysize`).
    public init(bits: Int) throws(Failure) {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else { throw Failure(message: OpenSSLSupport.lastError()) }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1,
            EVP_PKEY_generate(context, &key) == 1, let key
        else { throw Failure(message: "cannot make a \(bits)-bit RSA key: \(OpenSSLSupport.lastError())") }
        pointer = key
    }

    /// A key from PEM (PKCS#8 or PKCS#1).
    public init(pem: [UInt8]) throws(Failure) {
        let key = OpenSSLSupport.withBIO(pem) { bio in PEM_read_bio_PrivateKey(bio, nil, nil, nil) }
        guard let key, let key else { throw Failure(message: "not a PEM private key") }
        pointer = key
    }

    deinit { EVP_PKEY_free(pointer) }

    public var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// PKCS#8 PEM, unencrypted: for a simulator's keychain or a test's files.
    public var pem: [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { return [] }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else { return [] }
        return OpenSSLSupport.drain(bio)
    }
}

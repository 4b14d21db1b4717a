import COpenSSL
import Foundation

/// Checks a device's `Mdm-Signature` header (docs/apple-mdm.md §3): base64 of a
/// detached CMS SignedData over the exact body, signed by the device identity. The
/// signature must verify, there must be one signer, and its certificate must chain to
/// the configured device CA and allow TLS client authentication (EKU clientAuth).
public final class MDMSignatureVerifier: @unchecked Sendable {
    public enum Failure: Error, Sendable, Hashable {
        case missing
        case malformed
        case badSignature
        case untrusted
        case notClientAuth
    }

    /// A verified device identity.
    public struct Identity: Sendable, Hashable {
        /// hex(SHA-256(DER)): what the server binds to a UDID.
        public var fingerprint: String
        public var subject: String
    }

    /// The trust store of the device CA, built once. OpenSSL locks it internally, so
    /// concurrent verifications may share it.
    private let store: OpaquePointer

    public init(caPEM: String) throws(Failure) {
        // OpenSSL reads a memory BIO in place: the bytes must outlive it, so the BIO lives
        // inside the closure that pins them.
        let found: [[UInt8]] = Array(caPEM.utf8).withUnsafeBytes { pem in
            guard let bio = BIO_new_mem_buf(pem.baseAddress, Int32(pem.count)) else { return [] }
            defer { BIO_free(bio) }
            var found: [[UInt8]] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                found.append(Self.der(certificate))
                X509_free(certificate)
            }
            ERR_clear_error()
            return found
        }
        guard !found.isEmpty, let store = X509_STORE_new() else { throw .malformed }
        for der in found {
            let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
                var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
                return d2i_X509(nil, &pointer, buffer.count)
            }
            guard let parsed else { continue }
            X509_STORE_add_cert(store, parsed)
            X509_free(parsed)
        }
        self.store = store
    }

    deinit {
        X509_STORE_free(store)
    }

    public func verify(header: String?, body: [UInt8]) throws(Failure) -> Identity {
        guard let header, !header.isEmpty else { throw .missing }
        guard let signature = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)) else { throw .malformed }
        let signatureBytes = [UInt8](signature)
        let verified: Result<OpaquePointer, Failure> = signatureBytes.withUnsafeBytes { signatureBuffer in
            body.withUnsafeBytes { contentBuffer in
                guard let signatureBIO = BIO_new_mem_buf(signatureBuffer.baseAddress, Int32(signatureBuffer.count)) else {
                    return .failure(.malformed)
                }
                defer { BIO_free(signatureBIO) }
                guard let cms = d2i_CMS_bio(signatureBIO, nil) else {
                    ERR_clear_error()
                    return .failure(.malformed)
                }
                defer { CMS_ContentInfo_free(cms) }
                guard let contentBIO = BIO_new_mem_buf(contentBuffer.baseAddress, Int32(contentBuffer.count)) else {
                    return .failure(.malformed)
                }
                defer { BIO_free(contentBIO) }
                // The signer is returned with its own reference: it outlives the CMS.
                guard let signer = scepops_cms_verified_signer(cms, contentBIO) else {
                    ERR_clear_error()
                    return .failure(.badSignature)
                }
                return .success(signer)
            }
        }
        let signer = try verified.get()
        defer { X509_free(signer) }
        try checkChain(signer)
        guard scepops_has_client_auth(signer) == 1 else { throw .notClientAuth }
        let der = Self.der(signer)
        return Identity(fingerprint: Self.sha256Hex(der), subject: Self.subject(signer))
    }

    private func checkChain(_ certificate: OpaquePointer) throws(Failure) {
        guard let context = X509_STORE_CTX_new() else { throw .untrusted }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate, nil) == 1,
            X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT) == 1
        else { throw .untrusted }
        guard X509_verify_cert(context) == 1 else {
            ERR_clear_error()
            throw .untrusted
        }
    }

    static func der(_ certificate: OpaquePointer) -> [UInt8] {
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(certificate, &pointer)
        guard length > 0, let pointer else { return [] }
        defer { CRYPTO_free(pointer, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(bytes, bytes.count, &digest)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func subject(_ certificate: OpaquePointer) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        _ = X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, scepops_xn_flag_rfc2253())
        let pending = Int(BIO_ctrl_pending(bio))
        var buffer = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(bio, &buffer, Int32(pending))
        return String(decoding: buffer.prefix(Int(max(read, 0))), as: UTF8.self)
    }
}

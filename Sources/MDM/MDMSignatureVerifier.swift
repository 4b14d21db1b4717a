import COpenSSL
import Foundation
import SCEPOpsCore
import Synchronization

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
    /// Certificates whose chain and purpose passed, by fingerprint: a device signs every
    /// request with the same one, and the trust store does not change while this lives,
    /// so only their validity period is checked again. Only trusted certificates enter it.
    private let trusted = Mutex<[String: DeviceCertificate]>([:])
    /// Certificates kept at most; past it, the expired go first, then any.
    public let capacity: Int
    var keptCertificates: Int { trusted.withLock { $0.count } }

    public init(caPEM: String, capacity: Int = 10_000) throws(Failure) {
        self.capacity = capacity
        // OpenSSL reads a memory BIO in place: the bytes must outlive it, so the BIO lives
        // inside the closure that pins them.
        let found: [[UInt8]] = Array(caPEM.utf8).withUnsafeBytes { pem in
            guard let bio = BIO_new_mem_buf(pem.baseAddress, Int32(pem.count)) else { return [] }
            defer { BIO_free(bio) }
            var found: [[UInt8]] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                found.append(DeviceCertificate.der(certificate))
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
        guard let signature = Self.base64(header) else { throw .malformed }
        // The certificates the message carries, each parsed once per server; OpenSSL reads
        // the rest. A message not in plain DER goes to OpenSSL whole.
        var carried: [DeviceCertificate] = []
        var message = signature
        if let split = SignedDataCertificates(signature) {
            for der in split.certificates {
                let fingerprint = Self.sha256Hex(der)
                guard let certificate = trusted.withLock({ $0[fingerprint] }) ?? DeviceCertificate(der: der, fingerprint: fingerprint)
                else { throw .malformed }
                carried.append(certificate)
            }
            message = split.stripped
        }
        let signer = try verifiedSigner(message, body: body, carried: carried)
        defer { X509_free(signer) }
        let certificate = carried.first { $0.pointer == signer } ?? DeviceCertificate(retaining: signer)
        try checkTrust(certificate)
        return Identity(fingerprint: certificate.fingerprint, subject: certificate.subject)
    }

    /// The one signer of a detached signature over `body`, with a reference of its own.
    private func verifiedSigner(_ message: [UInt8], body: [UInt8], carried: [DeviceCertificate]) throws(Failure) -> OpaquePointer {
        guard let stack = scepops_sk_X509_new_null() else { throw .malformed }
        defer { scepops_sk_X509_free(stack) }
        // The stack borrows them: `carried` outlives it.
        for certificate in carried { _ = scepops_sk_X509_push(stack, certificate.pointer) }
        let verified: Result<OpaquePointer, Failure> = message.withUnsafeBytes { signatureBuffer in
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
                guard let signer = scepops_cms_verified_signer(cms, contentBIO, stack) else {
                    ERR_clear_error()
                    return .failure(.badSignature)
                }
                return .success(signer)
            }
        }
        withExtendedLifetime(carried) {}
        return try verified.get()
    }

    /// The chain to the device CA and the clientAuth purpose, once per certificate while it is valid.
    private func checkTrust(_ certificate: DeviceCertificate) throws(Failure) {
        let now = time(nil)
        if certificate.isCurrent(now: now), trusted.withLock({ $0[certificate.fingerprint] }) != nil { return }
        try checkChain(certificate.pointer)
        guard scepops_has_client_auth(certificate.pointer) == 1 else { throw .notClientAuth }
        trusted.withLock { kept in
            if kept.count >= capacity { kept = kept.filter { $0.value.isCurrent(now: now) } }
            if kept.count >= capacity { kept.remove(at: kept.startIndex) }
            kept[certificate.fingerprint] = certificate
        }
    }

    /// Base64 of the header, spaces and tabs around it ignored.
    static func base64(_ header: String) -> [UInt8]? {
        var header = header
        return header.withUTF8 { text in
            var text = text[...]
            while let first = text.first, first == 0x20 || first == 0x09 { text = text.dropFirst() }
            while let last = text.last, last == 0x20 || last == 0x09 { text = text.dropLast() }
            return Data(base64Encoded: Data(text)).map { [UInt8]($0) }
        }
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

    static func sha256Hex(_ bytes: ArraySlice<UInt8>) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = bytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
        return Hex.encode(digest)
    }
}

import COpenSSL
import Foundation

/// What a `com.apple.security.scep` payload asks for: the CSR's subject, challenge, key size
/// and key usage (docs/apple-mdm.md §5).
public struct SCEPRequest: Sendable, Hashable {
    /// One relative distinguished name: a shortcut (C, L, ST, O, OU, CN) or a dotted OID.
    public struct Name: Sendable, Hashable {
        public var type: String
        public var value: String

        public init(_ type: String, _ value: String) {
            self.type = type
            self.value = value
        }
    }

    public var subject: [Name]
    public var challenge: String?
    public var keySize: Int
    /// The payload's `Key Usage` bitmask: 1 signing, 4 encryption.
    public var keyUsage: Int

    public init(subject: [Name], challenge: String?, keySize: Int = 2048, keyUsage: Int = 5) {
        self.subject = subject
        self.challenge = challenge
        self.keySize = keySize
        self.keyUsage = keyUsage
    }
}

/// The PKCS#10 request of a SCEP enrollment and the transient self-signed certificate
/// that signs the PKCSReq (RFC 8894 §2.3: a requester without a certificate makes one).
final class CertificateRequest: @unchecked Sendable {
    let der: [UInt8]
    /// The self-signed signer, same key and subject.
    let signer: OpaquePointer

    init(_ request: SCEPRequest, key: RSAKey) throws(SCEPClientError) {
        guard let name = X509_NAME_new() else { throw .codec(OpenSSLSupport.lastError()) }
        defer { X509_NAME_free(name) }
        for entry in request.subject {
            guard X509_NAME_add_entry_by_txt(name, entry.type, MBSTRING_UTF8, entry.value, -1, -1, 0) == 1 else {
                throw .codec("the subject entry \(entry.type) cannot be encoded: \(OpenSSLSupport.lastError())")
            }
        }
        guard let csr = X509_REQ_new() else { throw .codec(OpenSSLSupport.lastError()) }
        defer { X509_REQ_free(csr) }
        var usages: [String] = []
        if request.keyUsage & 1 != 0 { usages.append("digitalSignature") }
        if request.keyUsage & 4 != 0 { usages.append("keyEncipherment") }
        if usages.isEmpty { usages.append("digitalSignature") }
        guard let extensions = scepops_sk_X509_EXTENSION_new_null() else { throw .codec(OpenSSLSupport.lastError()) }
        defer { scepops_sk_X509_EXTENSION_pop_free(extensions) }
        guard let usage = X509V3_EXT_conf_nid(nil, nil, NID_key_usage, "critical," + usages.joined(separator: ",")),
            scepops_sk_X509_EXTENSION_push(extensions, usage) > 0
        else { throw .codec(OpenSSLSupport.lastError()) }
        guard X509_REQ_set_version(csr, 0) == 1, X509_REQ_set_subject_name(csr, name) == 1,
            X509_REQ_set_pubkey(csr, key.pointer) == 1, X509_REQ_add_extensions(csr, extensions) == 1
        else { throw .codec(OpenSSLSupport.lastError()) }
        if let challenge = request.challenge {
            let bytes = Array(challenge.utf8)
            guard X509_REQ_add1_attr_by_NID(csr, NID_pkcs9_challengePassword, MBSTRING_UTF8, bytes, Int32(bytes.count)) == 1 else {
                throw .codec(OpenSSLSupport.lastError())
            }
        }
        guard X509_REQ_sign(csr, key.pointer, EVP_sha256()) > 0,
            let der = OpenSSLSupport.der({ i2d_X509_REQ(csr, $0) })
        else { throw .codec("cannot sign the request: \(OpenSSLSupport.lastError())") }
        self.der = der

        guard let signer = X509_new() else { throw .codec(OpenSSLSupport.lastError()) }
        var serial = [UInt8](repeating: 0, count: 8)
        _ = RAND_bytes(&serial, 8)
        let ok =
            X509_set_version(signer, 2) == 1
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(signer), serial.reduce(0) { $0 << 8 | UInt64($1) } >> 1) == 1
            && X509_gmtime_adj(X509_getm_notBefore(signer), -300) != nil
            && X509_gmtime_adj(X509_getm_notAfter(signer), 86_400) != nil
            && X509_set_subject_name(signer, name) == 1 && X509_set_issuer_name(signer, name) == 1
            && X509_set_pubkey(signer, key.pointer) == 1 && X509_sign(signer, key.pointer, EVP_sha256()) > 0
        guard ok else {
            X509_free(signer)
            throw .codec("cannot make the transient signer: \(OpenSSLSupport.lastError())")
        }
        self.signer = signer
    }

    deinit { X509_free(signer) }
}

import COpenSSL
import Foundation

/// SCEP's pkiMessage (RFC 8894 §3): a PKCSReq built, a CertRep read. The SignedData carries
/// SCEP's attributes; its content is an EnvelopedData for the CA (or RA).
enum PKIMessage {
    /// SCEP's signed attributes, registered with OpenSSL once (swift-build-notes, trap 9).
    enum Attribute {
        static let messageType = register("2.16.840.1.113733.1.9.2", "messageType")
        static let pkiStatus = register("2.16.840.1.113733.1.9.3", "pkiStatus")
        static let failInfo = register("2.16.840.1.113733.1.9.4", "failInfo")
        static let senderNonce = register("2.16.840.1.113733.1.9.5", "senderNonce")
        static let recipientNonce = register("2.16.840.1.113733.1.9.6", "recipientNonce")
        static let transactionID = register("2.16.840.1.113733.1.9.7", "transactionID")

        static func register(_ oid: String, _ name: String) -> Int32 {
            let existing = OBJ_txt2nid(oid)
            return existing != NID_undef ? existing : OBJ_create(oid, name, name)
        }
    }

    static let pkcsReqType = "19"

    /// A PKCSReq: the CSR enveloped for `recipient` with `cipher`, signed by the request's
    /// transient signer.
    static func pkcsReq(
        _ request: CertificateRequest, key: RSAKey, recipient: [UInt8], cipher: OpaquePointer, transactionID: String,
        senderNonce: [UInt8]
    ) throws(SCEPClientError) -> [UInt8] {
        guard let certificate = certificate(recipient) else { throw .caCertificate("the recipient is not a certificate") }
        defer { X509_free(certificate) }
        guard let recipients = scepops_sk_X509_new_null() else { throw .codec(OpenSSLSupport.lastError()) }
        defer { scepops_sk_X509_free(recipients) }
        _ = scepops_sk_X509_push(recipients, certificate)
        let sealed = OpenSSLSupport.withBIO(request.der) { bio in PKCS7_encrypt(recipients, bio, cipher, Int32(PKCS7_BINARY)) }
        guard let sealed, let envelope = sealed else { throw .codec("cannot envelope the request: \(OpenSSLSupport.lastError())") }
        defer { PKCS7_free(envelope) }
        guard let envelopeDER = OpenSSLSupport.der({ i2d_PKCS7(envelope, $0) }) else { throw .codec(OpenSSLSupport.lastError()) }

        let flags = Int32(PKCS7_BINARY | PKCS7_PARTIAL | PKCS7_NOSMIMECAP)
        guard let signed = PKCS7_sign(nil, nil, nil, nil, flags) else { throw .codec(OpenSSLSupport.lastError()) }
        defer { PKCS7_free(signed) }
        guard let signer = PKCS7_sign_add_signer(signed, request.signer, key.pointer, EVP_sha256(), flags) else {
            throw .codec(OpenSSLSupport.lastError())
        }
        guard add(signer, Attribute.messageType, V_ASN1_PRINTABLESTRING, Array(pkcsReqType.utf8)),
            add(signer, Attribute.transactionID, V_ASN1_PRINTABLESTRING, Array(transactionID.utf8)),
            add(signer, Attribute.senderNonce, V_ASN1_OCTET_STRING, senderNonce)
        else { throw .codec(OpenSSLSupport.lastError()) }
        let finished = OpenSSLSupport.withBIO(envelopeDER) { bio in PKCS7_final(signed, bio, Int32(PKCS7_BINARY)) }
        guard finished == 1, let der = OpenSSLSupport.der({ i2d_PKCS7(signed, $0) }) else {
            throw .codec("cannot sign the request: \(OpenSSLSupport.lastError())")
        }
        return der
    }

    private static func add(_ signer: UnsafeMutablePointer<PKCS7_SIGNER_INFO>, _ nid: Int32, _ type: Int32, _ bytes: [UInt8]) -> Bool {
        guard let value = ASN1_STRING_type_new(type) else { return false }
        guard ASN1_STRING_set(value, bytes, Int32(bytes.count)) == 1,
            PKCS7_add_signed_attribute(signer, nid, type, UnsafeMutableRawPointer(value)) == 1
        else {
            ASN1_STRING_free(value)
            return false
        }
        return true
    }

    static func certificate(_ der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }
    }

    static func pkcs7(_ der: [UInt8]) -> UnsafeMutablePointer<PKCS7>? {
        der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PKCS7(nil, &pointer, buffer.count)
        }
    }
}

import COpenSSL
import Foundation

/// A CA's answer to a PKCSReq (RFC 8894 §3.3.2), read and checked against the request:
/// signed by one of the CA's own certificates, the same transaction, our nonce echoed.
struct CertRep {
    enum Status: String {
        case success = "0"
        case failure = "2"
        case pending = "3"
    }

    let status: Status
    let failInfo: String?
    /// The issued certificate (DER), for SUCCESS.
    let certificate: [UInt8]?

    static let failInfoNames = ["0": "badAlg", "1": "badMessageCheck", "2": "badRequest", "3": "badTime", "4": "badCertId"]

    init(
        _ der: [UInt8], request: CertificateRequest, key: RSAKey, transactionID: String, senderNonce: [UInt8],
        caCertificates: [[UInt8]]
    ) throws(SCEPClientError) {
        _ = OpenSSLSupport.providers
        guard let message = PKIMessage.pkcs7(der), scepops_pkcs7_is_signed(message) == 1 else {
            ERR_clear_error()
            throw .badReply("not a PKCS#7 SignedData")
        }
        defer { PKCS7_free(message) }
        guard let signer = scepops_pkcs7_first_signer(message) else { throw .badReply("it has no signer") }
        func attribute(_ nid: Int32) -> [UInt8]? {
            guard let string = scepops_asn1_type_string(PKCS7_get_signed_attribute(signer, nid)),
                let data = ASN1_STRING_get0_data(string)
            else { return nil }
            return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
        }
        guard let raw = attribute(PKIMessage.Attribute.pkiStatus), let status = Status(rawValue: String(decoding: raw, as: UTF8.self)) else {
            throw .badReply("it has no pkiStatus")
        }
        guard attribute(PKIMessage.Attribute.transactionID).map({ String(decoding: $0, as: UTF8.self) }) == transactionID else {
            throw .badReply("its transactionID is not this request's")
        }
        guard attribute(PKIMessage.Attribute.recipientNonce) == senderNonce else {
            throw .badReply("its recipientNonce does not echo this request's senderNonce")
        }
        self.status = status
        failInfo = attribute(PKIMessage.Attribute.failInfo).map { Self.failInfoNames[String(decoding: $0, as: UTF8.self)] ?? "unknown" }
        guard status == .success else {
            certificate = nil
            return
        }

        // The signature must hold, by a certificate GetCACert gave.
        guard let out = BIO_new(BIO_s_mem()) else { throw .codec(OpenSSLSupport.lastError()) }
        defer { BIO_free(out) }
        guard PKCS7_verify(message, nil, nil, nil, out, Int32(PKCS7_NOVERIFY | PKCS7_BINARY)) == 1 else {
            throw .badReply("its signature does not verify: \(OpenSSLSupport.lastError())")
        }
        guard let signers = PKCS7_get0_signers(message, nil, 0) else { throw .badReply("it names no signer certificate") }
        defer { scepops_sk_X509_free(signers) }
        let signerDER = scepops_sk_X509_value(signers, 0).flatMap { cert in OpenSSLSupport.der { i2d_X509(cert, $0) } }
        guard let signerDER, caCertificates.contains(signerDER) else {
            throw .badReply("it is signed by a certificate that is not the CA's")
        }

        // The content: an EnvelopedData for our transient signer, holding a certs-only PKCS#7.
        guard let envelope = PKIMessage.pkcs7(OpenSSLSupport.drain(out)) else { throw .badReply("the content is not an envelope") }
        defer { PKCS7_free(envelope) }
        guard let plain = BIO_new(BIO_s_mem()) else { throw .codec(OpenSSLSupport.lastError()) }
        defer { BIO_free(plain) }
        guard PKCS7_decrypt(envelope, key.pointer, request.signer, plain, 0) == 1 else {
            throw .badReply("the envelope does not open with this request's key: \(OpenSSLSupport.lastError())")
        }
        guard let bundle = PKIMessage.pkcs7(OpenSSLSupport.drain(plain)) else { throw .badReply("the envelope holds no certificates") }
        defer { PKCS7_free(bundle) }
        guard let certificates = scepops_pkcs7_certificates(bundle) else { throw .badReply("the envelope holds no certificates") }
        var issued: [UInt8]?
        for index in 0..<scepops_sk_X509_num(certificates) {
            guard let candidate = scepops_sk_X509_value(certificates, index), X509_check_private_key(candidate, key.pointer) == 1
            else { continue }
            issued = OpenSSLSupport.der { i2d_X509(candidate, $0) }
            break
        }
        ERR_clear_error()
        guard let issued else { throw .badReply("no certificate in it is for this request's key") }
        certificate = issued
    }
}

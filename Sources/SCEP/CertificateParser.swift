import COpenSSL
import Foundation
import SCEPOpsCore

/// Reads what GetCACert answers: one DER certificate (`application/x-x509-ca-cert`) or a
/// PKCS#7 certs-only bundle of the CA and its RA (`application/x-x509-ca-ra-cert`).
public enum CertificateParser {
    public struct Failure: Error, Sendable, Hashable {
        public var message: String
    }

    /// The certificates in the answer, the CA first when the bundle says which one it is.
    public static func certificates(in body: [UInt8]) throws(Failure) -> [CACertificate] {
        guard !body.isEmpty else { throw Failure(message: "the answer is empty") }
        if let single = body.withUnsafeBufferPointer({ buffer -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }) {
            defer { X509_free(single) }
            return [try summarize(single)]
        }
        ERR_clear_error()
        guard let bundle = body.withUnsafeBufferPointer({ buffer -> UnsafeMutablePointer<PKCS7>? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PKCS7(nil, &pointer, buffer.count)
        }) else {
            ERR_clear_error()
            throw Failure(message: "the answer is neither a DER certificate nor a PKCS#7 bundle")
        }
        defer { PKCS7_free(bundle) }
        guard let stack = scepops_pkcs7_certificates(bundle), scepops_sk_X509_num(stack) > 0 else {
            throw Failure(message: "the PKCS#7 bundle holds no certificate")
        }
        var result: [(isCA: Bool, certificate: CACertificate)] = []
        for index in 0..<scepops_sk_X509_num(stack) {
            guard let certificate = scepops_sk_X509_value(stack, index) else { continue }
            result.append((X509_check_ca(certificate) > 0, try summarize(certificate)))
        }
        // Stable: a CA before an RA, otherwise as the bundle orders them.
        return result.enumerated().sorted { ($0.element.isCA ? 0 : 1, $0.offset) < ($1.element.isCA ? 0 : 1, $1.offset) }
            .map(\.element.certificate)
    }

    /// A certificate a host holds (one DER certificate), as renewal reads it; nil when it
    /// does not parse.
    public static func held(_ der: [UInt8]) -> HeldCertificate? {
        guard let certificate = der.withUnsafeBufferPointer({ buffer -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }) else {
            ERR_clear_error()
            return nil
        }
        defer { X509_free(certificate) }
        guard let notBefore = date(X509_get0_notBefore(certificate)), let notAfter = date(X509_get0_notAfter(certificate)),
            let serial = serial(certificate)
        else { return nil }
        return HeldCertificate(
            subject: subject(certificate), serial: serial, notBefore: notBefore, notAfter: notAfter, fingerprint: sha256(der))
    }

    /// Upper-case hex, as `openssl x509 -serial` prints it.
    private static func serial(_ certificate: OpaquePointer) -> String? {
        guard let number = ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate), nil) else { return nil }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return nil }
        defer { CRYPTO_free(hex, #fileID, #line) }
        return String(cString: hex)
    }

    private static func date(_ asn1: UnsafePointer<ASN1_TIME>?) -> Date? {
        var time = tm()
        guard let asn1, ASN1_TIME_to_tm(asn1, &time) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&time)))
    }

    static func summarize(_ certificate: OpaquePointer) throws(Failure) -> CACertificate {
        var derPointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(certificate, &derPointer)
        guard length > 0, let derPointer else { throw Failure(message: "the certificate cannot be encoded") }
        let der = Array(UnsafeBufferPointer(start: derPointer, count: Int(length)))
        CRYPTO_free(derPointer, #fileID, #line)
        return CACertificate(
            der: der,
            summary: CACertificateSummary(
                subject: subject(certificate), fingerprint: sha256(der), notAfter: notAfter(certificate)))
    }

    private static func subject(_ certificate: OpaquePointer) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, scepops_xn_flag_rfc2253()) >= 0 else { return "?" }
        let pending = Int(BIO_ctrl_pending(bio))
        var buffer = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(bio, &buffer, Int32(pending))
        return String(decoding: buffer.prefix(Int(max(read, 0))), as: UTF8.self)
    }

    private static func notAfter(_ certificate: OpaquePointer) -> String {
        var time = tm()
        guard let asn1 = X509_get0_notAfter(certificate), ASN1_TIME_to_tm(asn1, &time) == 1 else { return "?" }
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday, time.tm_hour,
            time.tm_min, time.tm_sec)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(bytes, bytes.count, &digest)
        return Hex.encode(digest)
    }
}

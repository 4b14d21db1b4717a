import COpenSSL
import Foundation
import SCEPOpsCore

/// A certificate a device signed with, parsed once: OpenSSL's own object, with what the
/// server reads of it. Shared between requests only once its chain has been checked.
final class DeviceCertificate: @unchecked Sendable {
    /// Owned: freed with this object. OpenSSL reads a parsed certificate from any thread.
    let pointer: OpaquePointer
    /// hex(SHA-256(DER)): what the server binds to a UDID.
    let fingerprint: String
    let subject: String
    /// The end of its validity, in seconds since 1970; a cached check holds until then.
    let notAfter: Int

    /// Parses `der`, whose fingerprint the caller already took; nil when it is no certificate.
    convenience init?(der: ArraySlice<UInt8>, fingerprint: String) {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else {
            ERR_clear_error()
            return nil
        }
        self.init(owning: parsed, fingerprint: fingerprint)
    }

    /// Shares a certificate OpenSSL found in a message (it takes a reference of its own).
    convenience init(retaining certificate: OpaquePointer) {
        X509_up_ref(certificate)
        self.init(owning: certificate, fingerprint: MDMSignatureVerifier.sha256Hex(Self.der(certificate)[...]))
    }

    private init(owning certificate: OpaquePointer, fingerprint: String) {
        pointer = certificate
        self.fingerprint = fingerprint
        subject = Self.subject(certificate)
        var time = tm()
        if let asn1 = X509_get0_notAfter(certificate), ASN1_TIME_to_tm(asn1, &time) == 1 {
            notAfter = timegm(&time)
        } else {
            notAfter = 0
        }
        // Fills OpenSSL's cache of the extensions now, not under the first concurrent readers.
        _ = X509_check_purpose(certificate, -1, 0)
    }

    deinit {
        X509_free(pointer)
    }

    func isCurrent(now: Int = time(nil)) -> Bool { now < notAfter }

    static func der(_ certificate: OpaquePointer) -> [UInt8] {
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(certificate, &pointer)
        guard length > 0, let pointer else { return [] }
        defer { CRYPTO_free(pointer, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
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

import COpenSSL
import Foundation
import SCEP

/// Signs MDM messages as a device does (`SignMessage`): the `Mdm-Signature` header is
/// base64 of a detached CMS SignedData over the body, by the device identity.
final class MessageSigner: @unchecked Sendable {
    let key: RSAKey
    private let certificate: OpaquePointer

    init(key: RSAKey, certificate der: [UInt8]) throws(SCEPClientError) {
        self.key = key
        guard let certificate = der.withUnsafeBufferPointer({ buffer -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }) else { throw .codec("the identity is not a certificate") }
        self.certificate = certificate
    }

    deinit { X509_free(certificate) }

    func signature(for body: [UInt8]) throws(SCEPClientError) -> String {
        let signed: [UInt8]? = body.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let cms = CMS_sign(certificate, key.pointer, nil, bio, UInt32(CMS_DETACHED | CMS_BINARY)) else { return nil }
            defer { CMS_ContentInfo_free(cms) }
            var pointer: UnsafeMutablePointer<UInt8>?
            let length = i2d_CMS_ContentInfo(cms, &pointer)
            guard length > 0, let pointer else { return nil }
            defer { CRYPTO_free(pointer, #fileID, #line) }
            return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
        }
        guard let signed else { throw .codec("cannot sign the message") }
        return Data(signed).base64EncodedString()
    }
}

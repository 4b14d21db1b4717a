import COpenSSL

/// Small bridges to OpenSSL's memory BIOs and DER encoders used by the SCEP codec.
enum OpenSSLSupport {
    /// Everything readable in a memory BIO.
    static func drain(_ bio: OpaquePointer) -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(bio))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(bio, &bytes, Int32(pending))
        return Array(bytes.prefix(Int(max(read, 0))))
    }

    /// A read-only memory BIO over a copy of `bytes`, freed after `body`. The buffer must
    /// outlive the BIO, so both live inside this call.
    static func withBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) rethrows -> T? {
        try bytes.withUnsafeBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// DER through an `i2d_*` function.
    static func der(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) -> [UInt8]? {
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = encode(&pointer)
        guard length > 0, let pointer else { return nil }
        defer { CRYPTO_free(pointer, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    /// The last OpenSSL error as text, and the queue cleared.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// OpenSSL 3 keeps single DES in the legacy provider, and micromdm's scepserver encrypts
    /// its CertRep with it (swift-build-notes, trap 2). Loading one provider explicitly
    /// drops the implicit default, so both are loaded, once per process.
    static let providers: Bool = {
        OSSL_PROVIDER_load(nil, "legacy") != nil && OSSL_PROVIDER_load(nil, "default") != nil
    }()
}

import COpenSSL
import Foundation
import NIOCore
import SCEPOpsCore

/// A certificate a SCEP enrollment gave, with the key it was issued for.
public struct SCEPEnrollment: Sendable {
    public var key: RSAKey
    /// DER.
    public var certificate: [UInt8]
    public var summary: CACertificateSummary
    public var issuer: String
}

/// A SCEP requester (RFC 8894) over any `SCEPService`: the same interface the proxy serves,
/// so a client can talk to a CA directly or through the proxy. GetCACaps, GetCACert, then a
/// PKCSReq with the strongest cipher the caps allow; the CertRep is checked and opened.
public struct SCEPClient: Sendable {
    let service: any SCEPService

    public init(service: any SCEPService) {
        self.service = service
        _ = OpenSSLSupport.providers
    }

    public func capabilities() async throws(SCEPClientError) -> Set<String> {
        let answer = try await upstream { () async throws(SCEPUpstreamError) in try await service.getCACaps() }
        return Set(String(buffer: answer.body).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// The CA's certificates, the CA first (and its RA, if it has one).
    public func caCertificates(name: String? = nil) async throws(SCEPClientError) -> [CACertificate] {
        let answer = try await upstream { () async throws(SCEPUpstreamError) in try await service.getCACert(message: name) }
        do {
            return try CertificateParser.certificates(in: Array(answer.body.readableBytesView))
        } catch {
            throw .caCertificate(error.message)
        }
    }

    /// Enrolls: a new key of the request's size, a CSR with its subject, challenge and key
    /// usage, and the exchange. `name` is the payload's `Name` (GetCACert's message).
    public func enroll(_ request: SCEPRequest, name: String? = nil) async throws(SCEPClientError) -> SCEPEnrollment {
        let caps = try await capabilities()
        let certificates = try await caCertificates(name: name)
        // An RA, when the CA has one, receives the request; else the CA itself.
        let recipient = certificates.count > 1 ? certificates[1] : certificates[0]
        // RFC 8894 §3.5.2: "AES" is AES-128-CBC; without it, triple DES.
        let cipher = caps.contains("AES") ? EVP_aes_128_cbc() : EVP_des_ede3_cbc()
        guard let cipher else { throw .codec("the cipher is not available") }

        let key: RSAKey
        do {
            key = try RSAKey(bits: request.keySize)
        } catch {
            throw .codec(error.message)
        }
        let csr = try CertificateRequest(request, key: key)
        var nonce = [UInt8](repeating: 0, count: 16)
        _ = RAND_bytes(&nonce, 16)
        var id = [UInt8](repeating: 0, count: 16)
        _ = RAND_bytes(&id, 16)
        let transactionID = id.map { String(format: "%02X", $0) }.joined()
        let message = try PKIMessage.pkcsReq(
            csr, key: key, recipient: recipient.der, cipher: cipher, transactionID: transactionID, senderNonce: nonce)
        let answer = try await upstream { () async throws(SCEPUpstreamError) in
            try await service.pkiOperation(message: ByteBuffer(bytes: message))
        }
        let reply = try CertRep(
            Array(answer.body.readableBytesView), request: csr, key: key, transactionID: transactionID, senderNonce: nonce,
            caCertificates: certificates.map(\.der))
        switch reply.status {
        case .failure: throw .failure(failInfo: reply.failInfo ?? "unknown")
        case .pending: throw .pending
        case .success: break
        }
        guard let der = reply.certificate,
            let summary = try? CertificateParser.certificates(in: der).first?.summary
        else { throw .badReply("the issued certificate cannot be read") }
        return SCEPEnrollment(key: key, certificate: der, summary: summary, issuer: certificates[0].summary.subject)
    }

    private func upstream(_ call: () async throws(SCEPUpstreamError) -> SCEPMessage) async throws(SCEPClientError) -> SCEPMessage {
        do {
            return try await call()
        } catch {
            throw .upstream(error)
        }
    }
}

import COpenSSL
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SCEPOpsCore

/// Sends MDM pushes to APNs over HTTP/2 with the push certificate (docs/apple-mdm.md
/// §4): `POST /3/device/<hex token>`, `apns-push-type: mdm`, the topic from the
/// certificate's UID, and `{"mdm":"<PushMagic>"}`.
public struct APNsClient: Sendable {
    public enum Outcome: Sendable, Hashable {
        case delivered
        /// The token is no longer valid (410, or 400 BadDeviceToken): stop pushing to it.
        case staleToken(reason: String)
        /// Worth trying again later (429, 5xx, the connection).
        case retryLater(reason: String)
        case failed(reason: String)
    }

    public static let production = "https://api.push.apple.com"

    let client: APNsHTTP2Client
    /// The endpoint's host and port (443 unless it names one); nil for one that is not an
    /// https URL, which fails every push.
    let server: (host: String, port: Int)?
    public let topic: String
    /// Tries of one push before a transient failure is given up for this cycle.
    let attempts: Int
    let backoff: Duration
    /// How long one push may take, connection included.
    let timeout: TimeAmount

    public init(client: APNsHTTP2Client, endpoint: String = Self.production, topic: String, attempts: Int = 3,
        backoff: Duration = .milliseconds(500), timeout: TimeAmount = .seconds(30))
    {
        self.timeout = timeout
        self.client = client
        server = Self.server(endpoint)
        self.topic = topic
        self.attempts = attempts
        self.backoff = backoff
    }

    /// The host and port of an https endpoint (443 unless it names one); nil for anything else.
    public static func server(_ endpoint: String) -> (host: String, port: Int)? {
        guard let url = URLComponents(string: endpoint), url.scheme == "https", let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.query == nil
        else { return nil }
        return (host, url.port ?? 443)
    }

    /// An HTTP/2 client that presents the push certificate; `trustRoots` replaces the
    /// system's roots (a test server's own CA). Its connections live on `group`'s loops.
    public static func makeHTTPClient(
        certificatePEM: String, keyPEM: String, trustRoots: [NIOSSLCertificate]? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws -> APNsHTTP2Client {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        if let trustRoots { tls.trustRoots = .certificates(trustRoots) }
        return try APNsHTTP2Client(tls: tls, group: group)
    }

    /// The topic is the push certificate's UID attribute (com.apple.mgmt.…).
    public static func topic(certificatePEM: String) -> String? {
        // The BIO reads the bytes in place: it lives inside the closure that pins them.
        Array(certificatePEM.utf8).withUnsafeBytes { pem -> String? in
            guard let bio = BIO_new_mem_buf(pem.baseAddress, Int32(pem.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
            defer { X509_free(certificate) }
            let name = X509_get_subject_name(certificate)
            let index = X509_NAME_get_index_by_NID(name, NID_userId, -1)
            guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry)
            else { return nil }
            var utf8: UnsafeMutablePointer<UInt8>?
            let length = ASN1_STRING_to_UTF8(&utf8, data)
            guard length > 0, let utf8 else { return nil }
            defer { CRYPTO_free(utf8, #fileID, #line) }
            return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
        }
    }

    /// One push, retried with exponential backoff while APNs says to try later.
    public func push(token: String, pushMagic: String) async -> Outcome {
        var outcome = Outcome.retryLater(reason: "not sent")
        for attempt in 0..<attempts {
            if attempt > 0 { try? await Task.sleep(for: backoff * (1 << (attempt - 1))) }
            outcome = await send(token: token, pushMagic: pushMagic)
            guard case .retryLater = outcome else { return outcome }
        }
        return outcome
    }

    /// `{"mdm":"<PushMagic>"}`, written by hand: JSONSerialization cost more than the push.
    static func payload(pushMagic: String) -> [UInt8] {
        var json = Array(#"{"mdm":""#.utf8)
        for byte in pushMagic.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): json += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: json += Array("\\u00".utf8) + Array(Hex.encode([byte]).utf8)
            default: json.append(byte)
            }
        }
        return json + Array(#""}"#.utf8)
    }

    private func send(token: String, pushMagic: String) async -> Outcome {
        guard let server else { return .failed(reason: "the APNs endpoint is not an https URL") }
        let payload = Self.payload(pushMagic: pushMagic)
        do {
            let response = try await client.post(
                host: server.host, port: server.port, path: "/3/device/\(token)",
                headers: [
                    ("apns-push-type", "mdm"), ("apns-topic", topic), ("apns-priority", "10"),
                    ("content-type", "application/json"), ("content-length", "\(payload.count)"),
                ],
                body: ByteBuffer(bytes: payload), timeout: timeout)
            if response.status == 200 { return .delivered }
            let reason = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])?["reason"]
                as? String ?? "HTTP \(response.status)"
            switch response.status {
            case 410: return .staleToken(reason: reason)
            case 400 where reason == "BadDeviceToken": return .staleToken(reason: reason)
            case 429, 500...599: return .retryLater(reason: reason)
            default: return .failed(reason: reason)
            }
        } catch {
            return .retryLater(reason: "APNs could not be reached")
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import SCEPOpsCore

/// The live check of a CA's URL, as Fleet makes it when a CA is added: GetCACert must
/// answer with a certificate. The static challenge is never sent.
public struct CACertificateCheck: Sendable {
    public struct Failure: Error, Sendable, Hashable {
        /// Says what went wrong without the URL's credentials or any secret.
        public var message: String
    }

    let client: HTTPClient
    let timeout: TimeAmount

    public init(client: HTTPClient, timeout: TimeAmount = .seconds(30)) {
        self.client = client
        self.timeout = timeout
    }

    public func fetch(_ url: String) async -> Result<CACertificate, Failure> {
        do {
            var request = HTTPClientRequest(url: Self.operationURL(url, "GetCACert"))
            request.method = .GET
            let response = try await client.execute(request, timeout: timeout)
            guard response.status == .ok else {
                return .failure(Failure(message: "GetCACert answered HTTP \(response.status.code)"))
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            let certificates = try CertificateParser.certificates(in: Array(body.readableBytesView))
            return .success(certificates[0])
        } catch let error as CertificateParser.Failure {
            return .failure(Failure(message: "GetCACert did not return a CA certificate: \(error.message)"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .failure(Failure(message: "GetCACert timed out after \(timeout.nanoseconds / 1_000_000_000) s"))
        } catch {
            return .failure(Failure(message: "GetCACert failed: \(Self.describe(error))"))
        }
    }

    /// `operation=` is appended to the URL's own query, as SCEP clients do.
    static func operationURL(_ base: String, _ operation: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "operation=\(operation)"
    }

    private static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("NXDOMAIN") || text.contains("resolve") { return "the host name does not resolve" }
        if let error = error as? HTTPClientError { return String(describing: error) }
        return "the connection failed"
    }
}

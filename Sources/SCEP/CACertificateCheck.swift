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
    /// A CA certificate, or a bundle with its RA, is a few KiB.
    public static let maximumBody = 1 << 20

    public init(client: HTTPClient, timeout: TimeAmount = .seconds(30)) {
        self.client = client
        self.timeout = timeout
    }

    public func fetch(_ url: String) async -> Result<CACertificate, Failure> {
        do {
            let answer = try await SCEPHTTPClient(client: client, url: url, timeout: timeout, maximumBody: Self.maximumBody)
                .getCACert(message: nil)
            let certificates = try CertificateParser.certificates(in: Array(answer.body.readableBytesView))
            return .success(certificates[0])
        } catch let error as CertificateParser.Failure {
            return .failure(Failure(message: "GetCACert did not return a CA certificate: \(error.message)"))
        } catch SCEPUpstreamError.timeout {
            return .failure(Failure(message: "GetCACert timed out after \(timeout.nanoseconds / 1_000_000_000) s"))
        } catch SCEPUpstreamError.failed(let reason) {
            return .failure(Failure(message: "GetCACert failed: \(reason)"))
        } catch {
            return .failure(Failure(message: "GetCACert failed"))
        }
    }
}

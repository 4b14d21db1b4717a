import NIOCore

/// At most `limit` PKIOperations in flight to one CA; the rest wait their turn, first come
/// first served. micromdm's scepserver answers concurrent PKIOperations with random
/// failures ("crypto/rsa: verification error"), and other CAs cap concurrency too (SCEPman's
/// ConcurrentSCEPRequestLimit): a device's one-time proxy token must not be spent on that.
public actor UpstreamGate {
    private let limit: Int
    private var running: [String: Int] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public func run<T: Sendable>(_ upstream: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await enter(upstream)
        defer { leave(upstream) }
        return try await body()
    }

    private func enter(_ upstream: String) async {
        if running[upstream, default: 0] < limit {
            running[upstream, default: 0] += 1
            return
        }
        // The slot is handed over by `leave`, which keeps the count as it is.
        await withCheckedContinuation { waiting[upstream, default: []].append($0) }
    }

    private func leave(_ upstream: String) {
        if var queue = waiting[upstream], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[upstream] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            running[upstream, default: 1] -= 1
            if running[upstream] == 0 { running[upstream] = nil }
        }
    }
}

/// A SCEP service whose PKIOperations pass through a gate, keyed by the CA they go to.
public struct GatedSCEPService: SCEPService {
    let inner: any SCEPService
    let gate: UpstreamGate
    let key: String

    public init(_ inner: any SCEPService, gate: UpstreamGate, key: String) {
        self.inner = inner
        self.gate = gate
        self.key = key
    }

    public func getCACaps() async throws(SCEPUpstreamError) -> SCEPMessage { try await inner.getCACaps() }

    public func getCACert(message: String?) async throws(SCEPUpstreamError) -> SCEPMessage {
        try await inner.getCACert(message: message)
    }

    public func kept(_ question: SCEPQuestion) -> SCEPMessage? { inner.kept(question) }

    public func pkiOperation(message: ByteBuffer) async throws(SCEPUpstreamError) -> SCEPMessage {
        do {
            return try await gate.run(key) { try await inner.pkiOperation(message: message) }
        } catch let error as SCEPUpstreamError {
            throw error
        } catch {
            throw .failed("the request was cancelled")
        }
    }
}

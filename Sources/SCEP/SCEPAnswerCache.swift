import Foundation
import Synchronization

/// GetCACaps and GetCACert answers, kept a short while per CA. Every device asks both before
/// each enrollment and a PKIOperation needs the capabilities again: without this, one
/// enrollment costs the CA three round trips where one is new information. An entry belongs
/// to the CA's URL and the certificate the state recorded for it, so an apply that changes
/// either starts afresh; `lifetime` bounds how long a CA that changes on its own is behind.
public final class SCEPAnswerCache: Sendable {
    /// Which CA, as the state knows it: its URL and the fingerprint of its recorded certificate.
    struct Authority: Sendable, Hashable {
        var url: String
        var certificateFingerprint: String?
    }

    struct Key: Sendable, Hashable {
        var authority: Authority
        var question: SCEPQuestion
    }

    struct Entry: Sendable {
        var answer: SCEPMessage
        var expires: ContinuousClock.Instant
    }

    public let lifetime: Duration
    /// Entries kept at most: a device picks GetCACert's `message`, which must not grow this.
    public let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    public init(lifetime: Duration = .seconds(60), capacity: Int = 1024) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The kept answer, or `fetch`'s, kept when it succeeds. Failures are never kept.
    func answer(
        _ question: SCEPQuestion, for authority: Authority,
        fetch: () async throws(SCEPUpstreamError) -> SCEPMessage
    ) async throws(SCEPUpstreamError) -> SCEPMessage {
        let now = ContinuousClock.now
        if let kept = kept(question, for: authority, now: now) { return kept }
        let key = Key(authority: authority, question: question)
        let answer = try await fetch()
        entries.withLock { entries in
            if entries.count >= capacity { entries = entries.filter { $0.value.expires > now } }
            if entries.count < capacity { entries[key] = Entry(answer: answer, expires: now + lifetime) }
        }
        return answer
    }

    /// The answer kept and still fresh, if there is one.
    func kept(_ question: SCEPQuestion, for authority: Authority, now: ContinuousClock.Instant = .now) -> SCEPMessage? {
        guard let kept = entries.withLock({ $0[Key(authority: authority, question: question)] }), kept.expires > now else { return nil }
        return kept.answer
    }

    /// Forgets what was kept for the CA: after it failed an enrollment, ask it afresh.
    func forget(_ authority: Authority) {
        entries.withLock { entries in entries = entries.filter { $0.key.authority != authority } }
    }

    /// Entries kept, fresh or not.
    public var count: Int { entries.withLock { $0.count } }
}

/// The address a failed attempt is counted against. Behind a load balancer every request
/// comes from the balancer, and one broken CI job would lock out every client; from a
/// proxy named as trusted, the client is the last address it added to X-Forwarded-For.
/// From any other peer the header is ignored: anyone can write it.
public enum ClientAddress {
    public static func resolve(peer: String, forwardedFor: String?, trusted: Set<String>) -> String {
        guard trusted.contains(peer), let forwardedFor else { return peer }
        let last = forwardedFor.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return last.isEmpty ? peer : last
    }
}

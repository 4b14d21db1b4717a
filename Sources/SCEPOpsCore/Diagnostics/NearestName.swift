/// "Did you mean": the candidate nearest a misspelt name, when it is close enough to be a typo.
public enum NearestName {
    /// The allowed key nearest to a misspelt one, when it is close enough to be a typo.
    public static func closest(to key: String, in candidates: [String]) -> String? {
        candidates
            .map { ($0, editDistance(key.lowercased(), $0)) }
            .filter { $0.1 <= max(2, $0.0.count / 3) }
            .min { $0.1 < $1.1 }?.0
    }

    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

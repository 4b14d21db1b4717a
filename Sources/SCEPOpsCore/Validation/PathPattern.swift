/// A team's profile reference: a repo-relative path or glob (`*`, `?`, and `**` for any
/// number of folders), normalised so that it cannot leave the repo.
public struct PathPattern: Sendable, Hashable {
    public enum Problem: Error, Sendable, Hashable {
        case absolute
        case escapesRepo
        case outsideProfiles
    }

    public static let profilesFolder = "profiles"

    /// Normalised segments: no `.`, no `..`, no empty ones.
    public let segments: [String]
    public let text: String
    public let isGlob: Bool
    /// The folders before the first wildcard, with a trailing `/`: every match starts so,
    /// which lets a caller skip most paths with one `hasPrefix`.
    public let literalPrefix: String
    /// Each segment's scalars, for the wildcard match: made once, not for every path tried.
    private let segmentScalars: [[Unicode.Scalar]]

    private init(segments: [String]) {
        self.segments = segments
        segmentScalars = segments.map { Array($0.unicodeScalars) }
        text = segments.joined(separator: "/")
        let literal = segments.prefix { !Self.isWildcard($0) }
        isGlob = literal.count < segments.count
        literalPrefix = isGlob ? literal.joined(separator: "/") + "/" : text
    }

    private static func isWildcard(_ segment: String) -> Bool {
        segment.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
    }

    public static func parse(_ written: String) -> Result<PathPattern, Problem> {
        guard !written.hasPrefix("/") else { return .failure(.absolute) }
        var segments: [String] = []
        for segment in written.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..":
                guard segments.popLast() != nil else { return .failure(.escapesRepo) }
            default: segments.append(String(segment))
            }
        }
        guard segments.first == profilesFolder, segments.count > 1 else { return .failure(.outsideProfiles) }
        return .success(PathPattern(segments: segments))
    }

    public func matches(_ path: String) -> Bool {
        guard isGlob else { return path == text }
        return Self.match(segmentScalars[...], path.split(separator: "/")[...])
    }

    private static func match(_ pattern: ArraySlice<[Unicode.Scalar]>, _ path: ArraySlice<Substring>) -> Bool {
        guard let head = pattern.first else { return path.isEmpty }
        if head == ["*", "*"] {
            let rest = pattern.dropFirst()
            var remaining = path
            while true {
                if match(rest, remaining) { return true }
                guard !remaining.isEmpty else { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let name = path.first, wildcard(head[...], name.unicodeScalars) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    private static func wildcard(_ pattern: ArraySlice<Unicode.Scalar>, _ name: Substring.UnicodeScalarView) -> Bool {
        guard let p = pattern.first else { return name.isEmpty }
        switch p {
        case "*":
            var rest = name
            while true {
                if wildcard(pattern.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case "?":
            return !name.isEmpty && wildcard(pattern.dropFirst(), name.dropFirst())
        default:
            return name.first == p && wildcard(pattern.dropFirst(), name.dropFirst())
        }
    }
}

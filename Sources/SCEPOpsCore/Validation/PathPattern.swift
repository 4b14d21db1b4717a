/// A team's profile reference: a repo-relative path or glob (`*`, `?`, and `**` for any
/// number of folders), normalised so that it cannot leave the repo.
public struct PathPattern: Sendable, Hashable {
    public enum Problem: Error, Sendable, Hashable {
        case absolute
        case escapesRepo
        case outsideProfiles
    }

    public static let profilesFolder = "profiles"

    /// Normalised: no `.` or `..` segments, no empty ones.
    public let text: String
    public let isGlob: Bool
    /// The folders before the first wildcard, with a trailing `/`: every match starts so,
    /// which lets a caller skip most paths with one `hasPrefix`.
    public let literalPrefix: String
    /// Each segment's UTF-8, for the wildcard match: made once, not for every path tried.
    private let segments: [[UInt8]]

    private init(segments: [[UInt8]]) {
        self.segments = segments
        text = Self.joined(segments[...])
        let literal = segments.prefix { !$0.contains(Self.star) && !$0.contains(Self.question) }
        isGlob = literal.count < segments.count
        literalPrefix = isGlob ? Self.joined(literal) + "/" : text
    }

    private static func joined(_ segments: ArraySlice<[UInt8]>) -> String {
        String(decoding: Array(segments.joined(separator: [slash])), as: UTF8.self)
    }

    /// Read on UTF-8 bytes: a team may list thousands of paths.
    public static func parse(_ written: String) -> Result<PathPattern, Problem> {
        let bytes = Array(written.utf8)
        guard bytes.first != slash else { return .failure(.absolute) }
        var segments: [[UInt8]] = []
        for segment in bytes.split(separator: slash) {
            if segment.elementsEqual(current) { continue }
            if segment.elementsEqual(parent) {
                guard segments.popLast() != nil else { return .failure(.escapesRepo) }
                continue
            }
            segments.append(Array(segment))
        }
        guard segments.count > 1, segments[0].elementsEqual(profilesFolder.utf8) else { return .failure(.outsideProfiles) }
        return .success(PathPattern(segments: segments))
    }

    /// Matched on the path's UTF-8, segment by segment, with no copy of it: a team's glob is
    /// tried on every profile path under its literal prefix.
    public func matches(_ path: String) -> Bool {
        guard isGlob else { return path == text }
        var path = path
        return path.withUTF8 { Self.match(segments[...], $0, from: 0) }
    }

    private static let slash = UInt8(ascii: "/")
    private static let star = UInt8(ascii: "*")
    private static let question = UInt8(ascii: "?")
    private static let anySegments: [UInt8] = [star, star]
    private static let current = [UInt8(ascii: ".")]
    private static let parent = [UInt8(ascii: "."), UInt8(ascii: ".")]

    /// Whether `pattern` matches the path's segments from byte `start` on (empty segments,
    /// from doubled slashes, do not count).
    private static func match(_ pattern: ArraySlice<[UInt8]>, _ path: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var start = start
        while start < path.count, path[start] == slash { start += 1 }
        guard let head = pattern.first else { return start == path.count }
        if head == anySegments {
            let rest = pattern.dropFirst()
            var position = start
            while true {
                if match(rest, path, from: position) { return true }
                guard position < path.count else { return false }
                position = segmentEnd(path, from: position)
                while position < path.count, path[position] == slash { position += 1 }
            }
        }
        guard start < path.count else { return false }
        let end = segmentEnd(path, from: start)
        return wildcard(head[...], path, start, end) && match(pattern.dropFirst(), path, from: end)
    }

    private static func segmentEnd(_ path: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var end = start
        while end < path.count, path[end] != slash { end += 1 }
        return end
    }

    /// `*` any run of characters, `?` one (a whole UTF-8 sequence), anything else itself.
    private static func wildcard(_ pattern: ArraySlice<UInt8>, _ name: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        guard let p = pattern.first else { return from == to }
        switch p {
        case star:
            var position = from
            while true {
                if wildcard(pattern.dropFirst(), name, position, to) { return true }
                guard position < to else { return false }
                position = nextScalar(name, position, to)
            }
        case question:
            return from < to && wildcard(pattern.dropFirst(), name, nextScalar(name, from, to), to)
        default:
            return from < to && name[from] == p && wildcard(pattern.dropFirst(), name, from + 1, to)
        }
    }

    private static func nextScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ position: Int, _ end: Int) -> Int {
        var next = position + 1
        while next < end, bytes[next] & 0xC0 == 0x80 { next += 1 }
        return next
    }
}

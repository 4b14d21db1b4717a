import Foundation

/// The static check of a CA's SCEP URL, as Fleet's `validateURL`: an absolute URL with
/// a host, over http or https. Whether a SCEP server answers there is checked live, later.
enum SCEPURLCheck {
    enum Outcome {
        case valid
        case invalid
        case scheme
    }

    static func check(_ text: String) -> Outcome {
        guard !text.isEmpty, !text.contains(where: \.isWhitespace), let components = URLComponents(string: text),
            let scheme = components.scheme
        else { return .invalid }
        guard ["http", "https"].contains(scheme.lowercased()) else { return .scheme }
        guard let host = components.host, !host.isEmpty else { return .invalid }
        return .valid
    }
}

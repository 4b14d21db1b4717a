import ArgumentParser
import Foundation

/// A URL that goes into what devices install must be absolute http(s) with a host: a
/// relative or schemeless one would reach devices and fail there, much later.
enum AbsoluteURL {
    static func check(_ text: String, flag: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw ValidationError("\(flag) must be an absolute http(s) URL such as https://mdm.example.com, found \"\(text)\"")
        }
    }
}

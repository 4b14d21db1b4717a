import Foundation
import SCEPOpsTestSupport

/// Debian's Chromium, headless: the DOM a page renders to (after its CSS, as a browser
/// builds it) and a screenshot at a phone's width. Each run is its own process with a
/// profile folder of its own, and ends when the page is done.
enum HeadlessChromium {
    static let path = "/usr/bin/chromium"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    static func arguments(_ profile: TempRepo) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)", "--timeout=20000"]
    }

    static func dom(_ url: String) -> Command.Result {
        let profile = TempRepo()
        return Command.run(path, arguments(profile) + ["--dump-dom", url], environment: ["HOME": profile.path])
    }

    /// A 420-pixel-wide screenshot, as a phone shows the page.
    static func screenshot(_ url: String, to file: String) -> Command.Result {
        let profile = TempRepo()
        return Command.run(
            path, arguments(profile) + ["--window-size=420,1600", "--hide-scrollbars", "--screenshot=\(file)", url],
            environment: ["HOME": profile.path])
    }
}

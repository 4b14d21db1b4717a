import Foundation
import SCEPOpsTestSupport
import Testing

/// The repository stands alone: no file points outside it, every relative link in the docs
/// resolves, and every `docs/… §N` a comment cites is a section that exists.
@Suite("Self-contained docs")
struct SelfContainedDocsTests {
    static var tracked: [String] {
        Command.run("/usr/bin/git", ["-C", Command.packageRoot, "ls-files"]).stdout.split(separator: "\n").map(String.init)
    }

    static func read(_ path: String) -> String? {
        try? String(contentsOfFile: Command.packageRoot + "/" + path, encoding: .utf8)
    }

    @Test func noFileNamesADocumentOutsideTheRepository() {
        // Built from parts, so that this file does not name them itself.
        let outside = ["../" + "shared", "SPEC" + ".md", "SPEC" + " §", "ARCHITECTURE" + ".md", "apple-mdm-and-" + "apns.md",
            "fleet-custom-scep-" + "behaviour.md", "gitops-" + "anchors.md", "swift-build-" + "notes.md"]
        var found: [String] = []
        for path in Self.tracked {
            guard let text = Self.read(path) else { continue }
            for name in outside where text.contains(name) { found.append("\(path): \(name)") }
        }
        #expect(found.isEmpty, "\(found)")
    }

    @Test func relativeLinksInMarkdownResolve() {
        var broken: [String] = []
        for path in Self.tracked where path.hasSuffix(".md") {
            guard let text = Self.read(path) else { continue }
            let folder = URL(fileURLWithPath: Command.packageRoot + "/" + path).deletingLastPathComponent()
            for match in text.matches(of: /\]\(([^)#\s]+)(#[^)]*)?\)/) {
                let target = String(match.1)
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                let resolved = folder.appendingPathComponent(target).standardizedFileURL.path
                if !resolved.hasPrefix(Command.packageRoot) || !FileManager.default.fileExists(atPath: resolved) {
                    broken.append("\(path): \(target)")
                }
            }
        }
        #expect(broken.isEmpty, "\(broken)")
    }

    @Test func citedSectionsExist() throws {
        var cited = 0
        var missing: [String] = []
        for path in Self.tracked where path.hasSuffix(".swift") || path.hasSuffix(".md") {
            guard let text = Self.read(path) else { continue }
            for match in text.matches(of: /(docs\/[a-z-]+\.md) §(\d+)/) {
                cited += 1
                let document = Self.read(String(match.1)) ?? ""
                if !document.contains("\n## \(match.2). ") { missing.append("\(path): \(match.1) §\(match.2)") }
            }
        }
        #expect(cited > 20)
        #expect(missing.isEmpty, "\(missing)")
    }
}

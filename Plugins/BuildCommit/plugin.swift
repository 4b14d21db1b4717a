import Foundation
import PackagePlugin

/// Stamps the `scepops` executable with the commit it is built from (`scepops --version`,
/// `scepops_build_info`): before each build, `BuildCommit.swift` gets `git rev-parse` of the
/// package, "unknown" outside a git checkout. The file is rewritten only when the commit
/// changes, so an unchanged tree rebuilds nothing.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = #"""
            mkdir -p "$2"
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            text="let buildCommit = \"$commit\""
            [ "$(cat "$2/BuildCommit.swift" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" > "$2/BuildCommit.swift"
            """#
        return [
            .prebuildCommand(
                displayName: "Stamping scepops with its commit", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path], outputFilesDirectory: output)
        ]
    }
}

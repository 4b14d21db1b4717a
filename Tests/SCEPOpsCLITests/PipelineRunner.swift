import Foundation
import SCEPOpsTestSupport
import Testing
import Yams

/// Runs the `run:` steps of a GitHub workflow job and the `script:` of a GitLab job from
/// ci/pipelines with bash on this machine, as the CI would: `uses:` steps are skipped,
/// `${{ … }}` expressions come from a table the test gives (a missing one fails the test),
/// step outputs go through $GITHUB_OUTPUT, later steps see what $GITHUB_ENV and $GITHUB_PATH
/// add, and `gh` and `curl` are stubs on PATH that log their calls and answer from STUB_*
/// variables.
struct PipelineRunner {
    struct Step {
        var name: String
        var status: Int32
        var stdout: String
        var stderr: String
    }

    struct Job {
        var steps: [Step]
        /// The `with:` of each skipped `uses:` step, by action.
        var uses: [String: [String: String]]
        /// Zero when every step succeeded, else the failing step's status.
        var status: Int32 { steps.last.map { $0.status } ?? 0 }
        var output: String { steps.map { $0.stdout + $0.stderr }.joined() }
    }

    let checkout: String
    let stubs = TempRepo()
    var log: String { stubs.path + "/calls.log" }
    var environment: [String: String]

    init(checkout: String, environment: [String: String]) {
        self.checkout = checkout
        self.environment = environment
        stubs.write("bin/gh", Self.gh)
        stubs.write("bin/curl", Self.curl)
        chmod(stubs.path + "/bin/gh", 0o755)
        chmod(stubs.path + "/bin/curl", 0o755)
        let scepops = URL(fileURLWithPath: Command.scepops).deletingLastPathComponent().path
        self.environment["PATH"] = "\(stubs.path)/bin:\(scepops):/usr/local/bin:/usr/bin:/bin"
        self.environment["STUB_LOG"] = log
        self.environment["HOME"] = stubs.path
        self.environment["RUNNER_TEMP"] = stubs.path
    }

    static func pipeline(_ relative: String) throws -> Node {
        let text = try String(contentsOfFile: Command.packageRoot + "/ci/pipelines/" + relative, encoding: .utf8)
        return try #require(try Yams.compose(yaml: text))
    }

    /// The calls the stubs received since the last `resetLog`.
    func calls() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func resetLog() {
        try? FileManager.default.removeItem(atPath: log)
    }

    func github(_ file: String, job name: String, expressions: [String: String], answers: [String: String] = [:]) throws -> Job {
        let workflow = try Self.pipeline("github/" + file)
        let job = try #require(workflow["jobs"]?[name], "no job \(name) in \(file)")
        var outputs: [String: [String: String]] = [:]
        func resolve(_ value: String) -> String {
            var result = value
            while let open = result.range(of: "${{"), let close = result.range(of: "}}", range: open.upperBound..<result.endIndex) {
                let expression = result[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                var replacement = expressions[expression]
                let parts = expression.split(separator: ".").map(String.init)
                if parts.count == 4, parts[0] == "steps", parts[2] == "outputs" { replacement = outputs[parts[1]]?[parts[3]] ?? "" }
                #expect(replacement != nil, "\(file): the test gives no value for ${{ \(expression) }}")
                result.replaceSubrange(open.lowerBound..<close.upperBound, with: replacement ?? "")
            }
            return result
        }
        func variables(_ node: Node?) -> [String: String] {
            var values: [String: String] = [:]
            for (key, value) in node?.mapping ?? [:] { values[key.string ?? ""] = resolve(value.string ?? "") }
            return values
        }
        let jobEnvironment = variables(job["env"])
        var result = Job(steps: [], uses: [:])
        var added: [String: String] = [:]
        var paths: [String] = []
        for step in job["steps"]?.sequence ?? [] {
            if let action = step["uses"]?.string {
                result.uses[action] = variables(step["with"])
                continue
            }
            guard let script = step["run"]?.string else { continue }
            let output = stubs.path + "/github-output"
            let envFile = stubs.path + "/github-env"
            let pathFile = stubs.path + "/github-path"
            for file in [output, envFile, pathFile] {
                try? FileManager.default.removeItem(atPath: file)
                _ = FileManager.default.createFile(atPath: file, contents: nil)
            }
            var env = environment.merging(answers) { $1 }.merging(jobEnvironment) { $1 }.merging(added) { $1 }
                .merging(variables(step["env"])) { $1 }
            env["GITHUB_OUTPUT"] = output
            env["GITHUB_ENV"] = envFile
            env["GITHUB_PATH"] = pathFile
            env["PATH"] = (paths.reversed() + [env["PATH"] ?? ""]).joined(separator: ":")
            // GitHub's `shell: bash`.
            let run = Command.run(
                "/bin/bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], directory: checkout, environment: env)
            if let id = step["id"]?.string {
                let lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n")
                outputs[id] = Dictionary(lines.compactMap { line in
                    line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
                }) { $1 }
            }
            for line in ((try? String(contentsOfFile: envFile, encoding: .utf8)) ?? "").split(separator: "\n") {
                if let equals = line.firstIndex(of: "=") { added[String(line[..<equals])] = String(line[line.index(after: equals)...]) }
            }
            paths += ((try? String(contentsOfFile: pathFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            result.steps.append(Step(name: step["name"]?.string ?? "run", status: run.status, stdout: run.stdout, stderr: run.stderr))
            if run.status != 0 { break }
        }
        return result
    }

    func gitlab(_ file: String, job name: String, variables given: [String: String], answers: [String: String] = [:]) throws -> Job {
        let pipeline = try Self.pipeline("gitlab/" + file)
        let job = try #require(pipeline[Node(name)], "no job \(name) in \(file)")
        var env = environment.merging(given) { $1 }.merging(answers) { $1 }
        for (key, value) in pipeline["variables"]?.mapping ?? [:] { env[key.string ?? ""] = value.string }
        for (key, value) in job["variables"]?.mapping ?? [:] { env[key.string ?? ""] = value.string }
        let script = (job["script"]?.sequence ?? []).compactMap(\.string).joined(separator: "\n")
        #expect(!script.isEmpty, "\(name) has no script")
        let run = Command.run("/bin/bash", ["-eo", "pipefail", "-c", script], directory: checkout, environment: env)
        return Job(steps: [Step(name: name, status: run.status, stdout: run.stdout, stderr: run.stderr)], uses: [:])
    }

    static let gh = """
        #!/bin/bash
        # A stand-in for the GitHub CLI: logs the call, answers from STUB_* variables.
        printf 'gh %s\\n' "$*" >> "$STUB_LOG"
        case "$*" in
          "api repos/"*"/comments --paginate"*) echo "${STUB_COMMENT_ID:-}" ;;
          "api repos/"*"/pulls --jq .[0].number"*) echo "${STUB_PR_NUMBER:-}" ;;
          "api repos/"*"/pulls --jq .[0].head.sha"*) echo "${STUB_PR_HEAD:-}" ;;
          "issue list"*) echo "${STUB_ISSUE:-}" ;;
          "run download"*)
            [ -n "${STUB_REVIEWED_PLAN:-}" ] || { echo "no artifact" >&2; exit 1; }
            dir=.; previous=""
            for arg in "$@"; do [ "$previous" = "--dir" ] && dir=$arg; previous=$arg; done
            mkdir -p "$dir" && cp "$STUB_REVIEWED_PLAN" "$dir/scepops.plan" ;;
        esac
        exit 0

        """

    static let curl = """
        #!/bin/bash
        # A stand-in for curl against the GitLab API: logs the call, answers from STUB_* variables.
        printf 'curl %s\\n' "$*" >> "$STUB_LOG"
        method=GET; url=""; out=""
        while [ $# -gt 0 ]; do
          case "$1" in
            -X) method=$2; shift ;;
            -o) out=$2; shift ;;
            --header|--data|--data-urlencode) shift ;;
            -*) ;;
            *) url=$1 ;;
          esac
          shift
        done
        case "$method $url" in
          "GET "*"/notes?"*) echo "${STUB_NOTES:-[]}" ;;
          "GET "*"/merge_requests") echo "${STUB_MERGE_REQUESTS:-[]}" ;;
          "GET "*"/jobs/artifacts/"*) [ -n "${STUB_REVIEWED_PLAN:-}" ] || exit 22; cp "$STUB_REVIEWED_PLAN" "$out" ;;
          "GET "*"/issues?"*) echo "${STUB_ISSUES:-[]}" ;;
          *) echo '{}' ;;
        esac

        """
}

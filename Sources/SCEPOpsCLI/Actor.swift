import Foundation

/// Who is applying, for the history: `$SCEPOPS_ACTOR`, else the CI system's own name for
/// who triggered the run, else the local user.
enum Actor {
    static let variables = [
        "SCEPOPS_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "BITBUCKET_STEP_TRIGGERER_UUID",
        "USER", "LOGNAME",
    ]

    static func current(_ environment: [String: String]) -> String {
        for name in variables {
            if let value = environment[name], !value.isEmpty { return value }
        }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }
}

import ArgumentParser

/// `--format` of the commands that report data: for people, or for scripts.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// `--format` of plan and drift, which also write a pull-request comment or an issue.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case markdown
    case json
}

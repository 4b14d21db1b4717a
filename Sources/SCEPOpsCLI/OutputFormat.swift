import ArgumentParser
import SCEPOpsCore

/// `--format` of the commands that report data: for people, or for scripts.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// `--format` of plan and drift, which also write a pull-request comment or an issue.
extension ReportFormat: ExpressibleByArgument {}

/// `--format` of the listings a spreadsheet may want.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
    case csv
}

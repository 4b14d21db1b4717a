import SCEPOpsConfig
import SCEPOpsCore
import Testing

@Suite("The drift ignore file")
struct DriftIgnoreFileTests {
    @Test func ignoreFileProblemsNameTheFileAndLine() {
        let (rules, diagnostics) = DriftIgnoreFile.parse(
            """
            ignore:
              - fingerprint: 5176d8f047b667d4
                reason: CA maintenance
                until: 2026-12-31
              - kind: certificate-expiring
                until: 2026-12-31
              - fingerprint: xyz
                reason: short
                until: tomorrow
              - reason: everything
                until: 2026-12-31
                colour: red
              - reason: matches all
                until: 2026-12-31

            """, file: "drift-ignore.yml")
        #expect(rules.map(\.line) == [2])
        #expect(
            diagnostics.map { "\($0.position?.line ?? 0) \($0.code.rawValue)" } == [
                "5 missing-key", "7 ignore-rule-invalid", "9 ignore-rule-invalid", "10 ignore-rule-invalid", "12 unknown-key",
                "13 ignore-rule-invalid",
            ])
        #expect(diagnostics.allSatisfy { $0.file == "drift-ignore.yml" })
        #expect(DriftIgnoreFile.parse("ignore: []\n", file: "f").rules.isEmpty)
        let scoped = DriftIgnoreFile.parse(
            "ignore:\n  - team: Kiosks\n    serial: \"C02LAB*\"\n    reason: loaners\n    until: 2026-12-31\n", file: "f")
        #expect(scoped.diagnostics.isEmpty && scoped.rules.first?.team == "Kiosks" && scoped.rules.first?.serial == "C02LAB*")
        #expect(DriftIgnoreFile.parse("ignore: [", file: "f").diagnostics.first?.code == .yamlSyntax)
    }
}

import SCEPOpsCore
import Testing

@Suite("Environment expansion in YAML values")
struct EnvironmentExpanderTests {
    let expander = EnvironmentExpander(environment: ["A": "alpha", "B_2": "beta", "EMPTY": ""])

    @Test(arguments: [
        ("$A", "alpha", true),
        ("${A}-${B_2}", "alpha-beta", true),
        ("x$A.y", "xalpha.y", true),
        ("${EMPTY}", "", true),
        ("price \\$5 and \\$A", "price $5 and $A", false),
        ("$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_X", "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_X", false),
        ("${FLEET_VAR_SCEP_RENEWAL_ID}", "${FLEET_VAR_SCEP_RENEWAL_ID}", false),
        ("cost: $ 5, $1", "cost: $ 5, $1", false),
        ("trailing $", "trailing $", false),
        ("no variables", "no variables", false),
    ])
    func expands(_ input: String, _ expected: String, _ substituted: Bool) {
        let result = expander.expand(input)
        #expect(result.problems == [])
        #expect(result.value == expected)
        #expect(result.substituted == substituted)
    }

    @Test func anUnsetVariableIsAnErrorNeverEmpty() {
        let result = expander.expand("${A}:${MISSING}:$ALSO_MISSING")
        #expect(result.problems == [.unset(name: "MISSING"), .unset(name: "ALSO_MISSING")])
    }

    @Test(arguments: ["${A", "${}", "${1X}", "${A B}"])
    func malformedReferences(_ input: String) {
        #expect(expander.expand(input).problems.count == 1)
        if case .malformed = expander.expand(input).problems.first {} else { Issue.record("not malformed: \(input)") }
    }
}

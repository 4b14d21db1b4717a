import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// Thousands of random mutations of a valid CA file and a valid profile: each must end
/// in diagnostics or success. A trap would end the test process, so getting through the
/// loop is itself the main assertion; the invariants below are the rest.
@Suite("Mutated input never traps")
struct MutationFuzzTests {
    static let iterations = 2_500

    /// SplitMix64: seeded, so a failure reproduces.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Fragments that steer mutations towards the parsers' interesting paths.
    static let tokens: [[UInt8]] = [
        "<", ">", "</", "/>", "<dict>", "</dict>", "<array>", "</array>", "<key>", "</key>", "<string>", "</string>",
        "<integer>", "<data>", "<true/>", "&", "&#", "&#x110000;", "&amp;", "<![CDATA[", "]]>", "<!--", "-->",
        "$FLEET_VAR_", "${FLEET_VAR_", "${", "}", "$", "\\$", ":", ": ", "- ", "[", "]", "{", "\n", "  ", "\"", "'",
        "&anchor", "*anchor", "!!binary", "---\n", "...\n", "\u{FEFF}", "\u{0}", "é", "\u{1F600}",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], _ rng: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !bytes.isEmpty:
                bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !bytes.isEmpty:
                let length = Int.random(in: 1...min(32, bytes.count - at), using: &rng)
                bytes.removeSubrange(at..<(at + length))
            case 2:
                bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
            case 3 where !bytes.isEmpty:
                let length = Int.random(in: 1...min(64, bytes.count - at), using: &rng)
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: Int.random(in: 0...bytes.count, using: &rng))
            default:
                bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }

    private func check(path: String, seed: UInt64) {
        var files = ValidRepo.files.mapValues { Array($0.utf8) }
        let original = files[path]!
        var rng = Generator(state: seed)
        var outcomes = (valid: 0, invalid: 0)
        for _ in 0..<Self.iterations {
            files[path] = Self.mutate(original, &rng)
            let config = ConfigLoader.load(InMemoryTree(files), environment: ValidRepo.environment)
            let result = ConfigValidator.validate(config)
            if result.state != nil { outcomes.valid += 1 } else { outcomes.invalid += 1 }
            #expect((result.state == nil) == result.diagnostics.hasErrors)
            for diagnostic in result.diagnostics {
                #expect(!diagnostic.message.isEmpty)
                #expect(diagnostic.file != nil)
                if let position = diagnostic.position { #expect(position.line >= 1 && position.column >= 1) }
            }
        }
        // Both outcomes occur, or the mutations are not exercising anything.
        #expect(outcomes.invalid > Self.iterations / 10)
        #expect(outcomes.valid > 0)
    }

    @Test func mutatedCertificateAuthority() {
        check(path: "certificate_authorities/wifi.yml", seed: 0xCA)
    }

    @Test func mutatedProfile() {
        check(path: "profiles/wifi.mobileconfig", seed: 0x9F)
    }
}

/// Checks one `.mobileconfig` against docs/contract.md §1 and Fleet's profile rules
/// (docs/contract.md §1), using Fleet's wording where it is clear.
struct ProfileInspector {
    static let scepPayloadType = "com.apple.security.scep"

    let path: String
    /// Every CA name the repo defines, valid or not, so that one bad CA file does not
    /// also make every profile that uses it fail.
    let knownCertificateAuthorities: Set<String>
    /// The file's bytes: nodes carry offsets into them, turned into a line and column only
    /// for a diagnostic.
    let content: [UInt8]

    private var diagnostics: [Diagnostic] = []

    init(path: String, content: [UInt8], knownCertificateAuthorities: Set<String>) {
        self.path = path
        self.content = content
        self.knownCertificateAuthorities = knownCertificateAuthorities
    }

    static func inspect(
        _ file: ProfileFile, content: [UInt8], knownCertificateAuthorities: Set<String>
    ) -> (Profile?, [Diagnostic]) {
        var inspector = ProfileInspector(
            path: file.path, content: content, knownCertificateAuthorities: knownCertificateAuthorities)
        let profile = inspector.inspect()
        return (profile, inspector.diagnostics)
    }

    // MARK: - Structure

    private mutating func inspect() -> Profile? {
        if content.starts(with: Array("bplist".utf8)) {
            error(.profileBinaryPlist, nil, "profile is a binary property list; commit it as an XML plist")
            return nil
        }
        if content.first == 0x30 {
            error(.profileSigned, nil, "profile looks signed (CMS); commit the unsigned XML plist, the server signs nothing away")
            return nil
        }
        let root: PlistNode
        do {
            root = try PlistParser.parse(content)
        } catch {
            diagnostics.append(
                .error(.profileNotPlist, file: path, at: error.position, "not a valid XML property list: \(error.message)"))
            return nil
        }
        guard root.entries != nil else {
            error(.profileWrongType, root.offset, "the top level of a profile must be a <dict>, found <\(root.typeName)>")
            return nil
        }

        let payloadType = requiredString("PayloadType", in: root, what: "the profile")
        if let payloadType, payloadType.value != "Configuration" {
            error(
                .profilePayloadType, payloadType.offset,
                "PayloadType must be \"Configuration\" at the top level of a profile, found \"\(payloadType.value)\"")
        }
        if let version = root.entry("PayloadVersion") {
            if version.value.integer != 1 {
                error(.profilePayloadVersion, version.value.offset, "PayloadVersion must be the integer 1")
            }
        } else {
            error(.profileMissingKey, root.offset, "the profile has no PayloadVersion; it must be 1")
        }
        let identifier = requiredString("PayloadIdentifier", in: root, what: "the profile")
        let uuid = requiredString("PayloadUUID", in: root, what: "the profile")
        let displayName = root["PayloadDisplayName"]?.string

        let payloads = inspectPayloads(root)
        let caNames = inspectVariables(root, payloads: payloads)

        guard !diagnostics.hasErrors, let identifier, let uuid else { return nil }
        return Profile(
            path: path, identifier: identifier.value, uuid: uuid.value, displayName: displayName, content: content,
            certificateAuthorities: caNames.sorted())
    }

    private struct Payloads {
        /// Indexes into PayloadContent of the SCEP payloads.
        var scep: Set<Int> = []
        var firstSCEPOffset: Int?
    }

    private mutating func inspectPayloads(_ root: PlistNode) -> Payloads {
        var payloads = Payloads()
        guard let content = root.entry("PayloadContent") else { return payloads }
        guard let elements = content.value.elements else {
            error(.profileWrongType, content.value.offset, "PayloadContent must be an <array> of payload dictionaries")
            return payloads
        }
        for (index, payload) in elements.enumerated() {
            guard payload.entries != nil else {
                error(.profileWrongType, payload.offset, "each payload in PayloadContent must be a <dict>")
                continue
            }
            let what = "payload \(index + 1) of PayloadContent"
            _ = requiredString("PayloadIdentifier", in: payload, what: what)
            guard let type = requiredString("PayloadType", in: payload, what: what) else { continue }
            if type.value == Self.scepPayloadType {
                if !payloads.scep.isEmpty {
                    // Apple installs only one SCEP payload per profile.
                    error(.profileMultipleSCEPPayloads, payload.offset, "Add only one SCEP payload.")
                }
                payloads.scep.insert(index)
                payloads.firstSCEPOffset = payloads.firstSCEPOffset ?? payload.offset
            }
        }
        return payloads
    }

    private mutating func requiredString(_ key: String, in dict: PlistNode, what: String) -> (value: String, offset: Int)? {
        guard let entry = dict.entry(key) else {
            error(.profileMissingKey, dict.offset, "\(what) has no \(key)")
            return nil
        }
        guard let value = entry.value.string, !value.isEmpty else {
            error(.profileWrongType, entry.value.offset, "\(key) must be a non-empty <string>")
            return nil
        }
        return (value, entry.value.offset)
    }

    // MARK: - Variables

    private struct Occurrence {
        var match: FleetVariableScanner.Match
        var field: PayloadPlace.Field
        /// The variable is the whole string (surrounding white space aside).
        var whole: Bool
        var offset: Int

        var isInPlace: Bool {
            switch match.variable {
            case .customSCEPChallenge: field == .challenge && whole
            case .customSCEPProxyURL: field == .url && whole
            case .scepRenewalID: field == .subjectNameOrUnit
            case .unknown: false
            }
        }
    }

    /// Checks every `$FLEET_VAR_*` and returns the CA names the profile uses.
    private mutating func inspectVariables(_ root: PlistNode, payloads: Payloads) -> Set<String> {
        var occurrences: [Occurrence] = []
        collect(root, at: .root, scepPayloads: payloads.scep, into: &occurrences)

        var seen: [FleetVariable: Int] = [:]
        var challenges: [String: Occurrence] = [:]
        var proxyURLs: [String: Occurrence] = [:]
        var renewalIDs: [Occurrence] = []

        // The occurrence that stands where it belongs is the one that counts; any other
        // occurrence of the same variable is the repeat.
        let ordered = occurrences.enumerated().sorted { a, b in
            (a.element.isInPlace ? 0 : 1, a.offset) < (b.element.isInPlace ? 0 : 1, b.offset)
        }.map(\.element)
        for occurrence in ordered {
            let variable = occurrence.match.variable
            seen[variable, default: 0] += 1
            let repeated = seen[variable]! > 1
            switch variable {
            case .unknown:
                error(
                    .variableUnknown, occurrence.offset,
                    "Unknown Fleet variable \(variable.name) found in profile. Please update or remove.")
            case .scepRenewalID:
                renewalIDs.append(occurrence)
            case .customSCEPChallenge(let ca), .customSCEPProxyURL(let ca):
                let isChallenge = if case .customSCEPChallenge = variable { true } else { false }
                if !knownCertificateAuthorities.contains(ca) {
                    error(
                        .variableUnknownCA, occurrence.offset,
                        "Fleet variable \(variable.name) does not exist. No certificate authority named \"\(ca)\" is defined in certificate_authorities/."
                    )
                }
                let expected: PayloadPlace.Field = isChallenge ? .challenge : .url
                // Outside the SCEP payload is said first; inside it, the occurrence in place
                // counts (it sorts first) and any other one is a repeat.
                if occurrence.field == .outsideSCEPPayload {
                    error(
                        .variableOutsideSCEPPayload, occurrence.offset,
                        "Variables prefixed with \"$FLEET_VAR_CUSTOM_SCEP_\" and \"$FLEET_VAR_SCEP_\" must only be in the SCEP payload."
                    )
                } else if repeated {
                    error(
                        .variableDuplicate, occurrence.offset,
                        "Fleet variable \(variable.name) is already present in configuration profile.")
                } else if occurrence.field != expected || !occurrence.whole {
                    let field = isChallenge ? "Challenge" : "URL"
                    error(
                        .variableWrongField, occurrence.offset,
                        "Variable \"\(variable.name)\" must be in the SCEP certificate's \"\(field)\" field, as its whole value."
                    )
                }
                if isChallenge {
                    challenges[ca] = challenges[ca] ?? occurrence
                } else {
                    proxyURLs[ca] = proxyURLs[ca] ?? occurrence
                }
            }
        }

        // Nearly always each CA has both: then there is nothing to check or merge.
        let paired = challenges.count == proxyURLs.count && challenges.keys.allSatisfy { proxyURLs[$0] != nil }
        if !paired { checkPairs(challenges: challenges, proxyURLs: proxyURLs) }
        checkRenewalIDs(
            renewalIDs, usesCA: !challenges.isEmpty || !proxyURLs.isEmpty, scepPayload: payloads.firstSCEPOffset)
        return paired ? Set(challenges.keys) : Set(challenges.keys).union(proxyURLs.keys)
    }

    private mutating func checkPairs(challenges: [String: Occurrence], proxyURLs: [String: Occurrence]) {
        let challengeOnly = Set(challenges.keys).subtracting(proxyURLs.keys).sorted()
        let urlOnly = Set(proxyURLs.keys).subtracting(challenges.keys).sorted()
        if challengeOnly.count == 1, urlOnly.count == 1, let c = challengeOnly.first, let u = urlOnly.first {
            error(
                .variableCAMismatch, proxyURLs[u]!.offset,
                "CA name mismatch between \(FleetVariable.customSCEPProxyURL(ca: u).name) and \(FleetVariable.customSCEPChallenge(ca: c).name) in the profile."
            )
            return
        }
        for ca in challengeOnly {
            error(
                .variableMissingPair, challenges[ca]!.offset,
                "Missing \(FleetVariable.customSCEPProxyURL(ca: ca).name) in the profile. A SCEP profile for custom SCEP certificate authority \"\(ca)\" requires both \(FleetVariable.customSCEPChallenge(ca: ca).name) and \(FleetVariable.customSCEPProxyURL(ca: ca).name)."
            )
        }
        for ca in urlOnly {
            error(
                .variableMissingPair, proxyURLs[ca]!.offset,
                "Missing \(FleetVariable.customSCEPChallenge(ca: ca).name) in the profile. A SCEP profile for custom SCEP certificate authority \"\(ca)\" requires both \(FleetVariable.customSCEPChallenge(ca: ca).name) and \(FleetVariable.customSCEPProxyURL(ca: ca).name)."
            )
        }
    }

    private mutating func checkRenewalIDs(_ renewalIDs: [Occurrence], usesCA: Bool, scepPayload: Int?) {
        let name = FleetVariable.scepRenewalID.name
        guard usesCA else {
            if let first = renewalIDs.first {
                error(
                    .renewalIDWithoutSCEP, first.offset,
                    "Variable \"\(name)\" can't be used if variables for SCEP URL and Challenge are not specified.")
            }
            return
        }
        guard !renewalIDs.isEmpty else {
            warning(
                .renewalIDMissing, scepPayload,
                "the SCEP payload has no \(name) in its Subject; certificates from this profile cannot be matched for automatic renewal. Add it to the Subject's OU."
            )
            return
        }
        for occurrence in renewalIDs where occurrence.field != .subjectNameOrUnit {
            error(
                .renewalIDPlacement, occurrence.offset,
                "Variable \(name) must be in the SCEP certificate's organizational unit (OU) or common name (CN).")
        }
        if renewalIDs.count > 1 {
            error(
                .variableDuplicate, renewalIDs[1].offset,
                "Fleet variable \(name) is already present in configuration profile. Variable \(name) must be in the SCEP certificate's organizational unit (OU) only once."
            )
        }
    }

    /// Walks the tree following its `PayloadPlace`, which is all the rules need of a path:
    /// this runs for every value of every profile.
    private mutating func collect(
        _ node: PlistNode, at place: PayloadPlace, siblings: [PlistNode]? = nil, scepPayloads: Set<Int>,
        into occurrences: inout [Occurrence]
    ) {
        switch node.value {
        case .string(let text):
            record(text, at: node.offset, field: place.field(siblings: siblings), into: &occurrences)
        case .dictionary(let entries):
            for entry in entries {
                let keyPlace = place.child(.entryKey, scepPayloads: scepPayloads)
                record(entry.key, at: entry.keyOffset, field: keyPlace.field(siblings: nil), into: &occurrences)
                collect(
                    entry.value, at: place.child(.key(entry.key), scepPayloads: scepPayloads), scepPayloads: scepPayloads,
                    into: &occurrences)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                collect(
                    element, at: place.child(.index(index), scepPayloads: scepPayloads), siblings: elements,
                    scepPayloads: scepPayloads, into: &occurrences)
            }
        case .integer, .real, .bool, .date, .data:
            break
        }
    }

    /// `field` is an autoclosure: it is worked out only for a string that holds a variable.
    private mutating func record(
        _ text: String, at offset: Int, field: @autoclosure () -> PayloadPlace.Field,
        into occurrences: inout [Occurrence]
    ) {
        let scan = FleetVariableScanner.scan(text)
        for malformed in scan.malformed {
            error(.variableSyntax, offset, "\"\(malformed.prefix(80))\" is not closed with '}'")
        }
        guard !scan.matches.isEmpty else { return }
        let field = field()
        let trimmed = text.trimmingPlistSpace()
        for match in scan.matches {
            occurrences.append(Occurrence(match: match, field: field, whole: trimmed == match.written, offset: offset))
        }
    }

    // MARK: - Diagnostics

    private mutating func error(_ code: DiagnosticCode, _ offset: Int?, _ message: String) {
        diagnostics.append(.error(code, file: path, at: position(offset), message))
    }

    private mutating func warning(_ code: DiagnosticCode, _ offset: Int?, _ message: String) {
        diagnostics.append(.warning(code, file: path, at: position(offset), message))
    }

    private func position(_ offset: Int?) -> SourcePosition? {
        offset.map { SourcePosition(offset: $0, in: content) }
    }
}

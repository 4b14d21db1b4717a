/// The stable code of each kind of diagnostic. Codes are part of the contract: CI scripts
/// and editors match on them, so a code is never renamed or reused.
public enum DiagnosticCode: String, Sendable, Hashable, Codable, CaseIterable {
    // Reading the repo.
    case repoNotFound = "repo-not-found"
    case refNotFound = "ref-not-found"
    case gitError = "git-error"
    case fileUnreadable = "file-unreadable"
    case fileTooLarge = "file-too-large"
    case notUTF8 = "not-utf8"
    case pathEscapesRepo = "path-escapes-repo"
    case symlinkEscapesRepo = "symlink-escapes-repo"
    case pathOutsideProfiles = "path-outside-profiles"
    case pathMatchesNothing = "path-matches-nothing"
    /// None of the three config folders exists: a wrong `--repo`, not an empty config.
    case noConfiguration = "no-configuration"
    /// A FIFO, socket or device where a config file or folder belongs.
    case notARegularFile = "not-a-regular-file"
    case folderUnreadable = "folder-unreadable"

    // YAML shape.
    case yamlSyntax = "yaml-syntax"
    /// Aliases that expand a document past the reader's bound (a "billion laughs").
    case yamlAliasLimit = "yaml-alias-limit"
    /// More findings in one file than are shown; this one counts the rest.
    case tooManyFindings = "too-many-findings"
    case wrongType = "wrong-type"
    case unknownKey = "unknown-key"
    case missingKey = "missing-key"
    case duplicateKey = "duplicate-key"

    // Environment variables in YAML values.
    case envUnset = "env-unset"
    case envSyntax = "env-syntax"
    case secretInRepo = "secret-in-repo"
    /// `plan --without-secrets` did not read this secret.
    case secretUnchecked = "secret-unchecked"

    // Certificate authorities.
    case caNameEmpty = "ca-name-empty"
    case caNameTooLong = "ca-name-too-long"
    case caNameInvalid = "ca-name-invalid"
    case caNameDuplicate = "ca-name-duplicate"
    case caURLInvalid = "ca-url-invalid"
    case caURLScheme = "ca-url-scheme"
    case caChallengeEmpty = "ca-challenge-empty"
    /// `renewal: {before, max_per_hour}` that is not a duration or a positive whole number.
    case caRenewalInvalid = "ca-renewal-invalid"

    // Teams.
    case teamNameEmpty = "team-name-empty"
    case teamNameTooLong = "team-name-too-long"
    case teamNameDuplicate = "team-name-duplicate"
    case teamEnrollSecretEmpty = "team-enroll-secret-empty"
    case teamEnrollSecretDuplicate = "team-enroll-secret-duplicate"

    // Profiles.
    case profileNotPlist = "profile-not-plist"
    case profileSigned = "profile-signed"
    case profileBinaryPlist = "profile-binary-plist"
    case profileMissingKey = "profile-missing-key"
    case profileWrongType = "profile-wrong-type"
    case profilePayloadType = "profile-payload-type"
    case profilePayloadVersion = "profile-payload-version"
    case profileMultipleSCEPPayloads = "profile-multiple-scep-payloads"
    case profileDuplicateIdentifier = "profile-duplicate-identifier"
    case profileUnused = "profile-unused"
    case variableUnknown = "variable-unknown"
    case variableSyntax = "variable-syntax"
    case variableUnknownCA = "variable-unknown-ca"
    case variableOutsideSCEPPayload = "variable-outside-scep-payload"
    case variableWrongField = "variable-wrong-field"
    case variableDuplicate = "variable-duplicate"
    case variableMissingPair = "variable-missing-pair"
    case variableCAMismatch = "variable-ca-mismatch"
    case renewalIDWithoutSCEP = "renewal-id-without-scep"
    case renewalIDPlacement = "renewal-id-placement"
    case renewalIDMissing = "renewal-id-missing"

    // Planning against the state.
    /// A CA that profiles still use is deleted or renamed (docs/contract.md §2).
    case caInUse = "ca-in-use"
    /// GetCACert against the CA's URL failed (the live check of plan and apply).
    case caUnreachable = "ca-unreachable"
    /// The plan deletes every CA, team or profile the state has (apply needs --allow-destroy).
    case destroysEverything = "destroys-everything"
    /// A plan made with `--without-secrets` was given to apply.
    case planWithoutSecrets = "plan-without-secrets"
    /// A stale reviewed plan, and planning again gives other changes (`apply --same-changes`).
    case reviewedChangesDiffer = "reviewed-changes-differ"

    // The drift ignore file.
    case ignoreRuleInvalid = "ignore-rule-invalid"
}

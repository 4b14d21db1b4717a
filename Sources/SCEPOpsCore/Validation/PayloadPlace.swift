/// Where a value sits in a profile, in the terms the variable rules speak of, followed one
/// step at a time as the inspector walks the tree: no path is kept, and nothing is copied
/// per node.
///
/// A SCEP payload is `PayloadContent[i]` with `i` a SCEP payload's index; its Challenge
/// and URL are `PayloadContent` → `Challenge`/`URL` inside it, and a Subject name is the
/// value in a `[OID, value]` pair, `PayloadContent` → `Subject` → RDN → pair → index 1.
enum PayloadPlace: Equatable {
    /// Where a variable was found.
    enum Field: Equatable {
        case challenge
        case url
        /// The value of a CN or OU entry of the SCEP payload's Subject.
        case subjectNameOrUnit
        case elsewhereInSCEPPayload
        case outsideSCEPPayload
    }

    /// A step down the tree: a dictionary's key, or an array's index.
    enum Step {
        case key(String)
        case index(Int)
        /// The key of an entry itself, which is never a Challenge or URL value.
        case entryKey
    }

    case root
    /// The profile's `PayloadContent` array.
    case payloads
    case scepPayload
    /// The SCEP payload's own `PayloadContent` dictionary.
    case scepContent
    case challenge
    case url
    /// `depth` steps below the Subject: RDNs at 1, pairs at 2.
    case subject(depth: Int)
    /// Index 1 of a Subject pair.
    case subjectValue
    case elsewhereInSCEPPayload
    case outsideSCEPPayload

    func child(_ step: Step, scepPayloads: Set<Int>) -> PayloadPlace {
        switch (self, step) {
        case (.root, .key("PayloadContent")): .payloads
        case (.root, _), (.outsideSCEPPayload, _): .outsideSCEPPayload
        case (.payloads, .index(let i)): scepPayloads.contains(i) ? .scepPayload : .outsideSCEPPayload
        case (.payloads, _): .outsideSCEPPayload
        case (.scepPayload, .key("PayloadContent")): .scepContent
        case (.scepContent, .key("Challenge")): .challenge
        case (.scepContent, .key("URL")): .url
        case (.scepContent, .key("Subject")): .subject(depth: 0)
        case (.subject(let depth), .key), (.subject(let depth), .index):
            depth < 2 ? .subject(depth: depth + 1) : (step.isIndex(1) ? .subjectValue : .elsewhereInSCEPPayload)
        default: .elsewhereInSCEPPayload
        }
    }

    /// The field of a string here; `siblings` is the array it sits in, whose first element
    /// names a Subject pair's OID.
    func field(siblings: [PlistNode]?) -> Field {
        switch self {
        case .root, .payloads, .outsideSCEPPayload: .outsideSCEPPayload
        case .challenge: .challenge
        case .url: .url
        case .subjectValue:
            siblings?.first?.string == "CN" || siblings?.first?.string == "OU"
                ? .subjectNameOrUnit : .elsewhereInSCEPPayload
        case .scepPayload, .scepContent, .subject, .elsewhereInSCEPPayload: .elsewhereInSCEPPayload
        }
    }
}

extension PayloadPlace.Step {
    fileprivate func isIndex(_ i: Int) -> Bool {
        if case .index(i) = self { true } else { false }
    }
}

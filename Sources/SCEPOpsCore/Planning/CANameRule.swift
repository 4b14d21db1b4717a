/// docs/contract.md §2: a CA name never changes in place. When the desired state deletes or renames a
/// CA that its profiles still use, validation reports each variable as naming an unknown
/// CA; against the state, the real finding is the rule, and the fix is three steps.
public enum CANameRule {
    public static func violations(_ config: UnvalidatedConfig, current: CurrentState) -> [Diagnostic] {
        let desiredNames = Set(config.certificateAuthorities.compactMap { $0.name?.value })
        let gone = current.certificateAuthorities.values.filter { !desiredNames.contains($0.name) }
        guard !gone.isEmpty else { return [] }

        var usersByCA: [String: [String]] = [:]
        for file in config.profiles {
            guard let content = file.content else { continue }
            let names = FleetVariableScanner.scan(String(decoding: content, as: UTF8.self)).matches
                .compactMap(\.variable.certificateAuthority)
            for name in Set(names) { usersByCA[name, default: []].append(file.path) }
        }

        return gone.sorted { $0.name < $1.name }.compactMap { old in
            guard let users = usersByCA[old.name]?.sorted(), !users.isEmpty else { return nil }
            let renamed = config.certificateAuthorities.first { $0.file == old.file && $0.name?.value != old.name }
            let newName = renamed?.name?.value
            let what =
                newName.map { "is renamed to \"\($0)\" in \(old.file)" } ?? "is deleted (it was defined in \(old.file))"
            let target = newName.map { "\"\($0)\"" } ?? "the new name"
            let steps =
                newName == nil
                ? "1. remove every profile that uses \"\(old.name)\" (hosts get RemoveProfile, which removes their certificates); 2. delete \"\(old.name)\". Both can be in this same change: delete or rewrite the profiles above so that none uses it."
                : "1. remove every profile that uses \"\(old.name)\" (hosts get RemoveProfile, which removes their certificates); 2. delete \"\(old.name)\" and create \(target); 3. install profiles that use \(target). All three can be in this same change: rewrite the profiles above to use \(target), and the plan orders the steps."
            let message = """
                certificate authority "\(old.name)" \(what), but these profiles still use it: \
                \(users.joined(separator: ", ")). A CA name never changes in place: profiles, in-flight proxy URLs \
                and renewals are tied to it. Do it in this order: \(steps)
                """
            return .error(.caInUse, file: renamed?.file ?? old.file, at: renamed?.name?.position, message)
        }
    }
}

import ArgumentParser

/// Where the desired state is read from; shared by every command that reads a repo.
struct RepoOptions: ParsableArguments {
    @Option(name: .long, help: "The config repository folder.")
    var repo: String = "."

    @Option(
        name: .long,
        help: "Read the files of this commit (branch, tag, commit id, HEAD) through git instead of the working tree.")
    var ref: String?
}

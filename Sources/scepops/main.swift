import SCEPOpsCLI
import SCEPOpsCore

// `buildCommit` comes from the BuildCommit plugin.
SCEPOpsVersion.stamp(commit: buildCommit)
await SCEPOps.runMain()

import SCEPOpsCLI

await SCEPOps.runMain()

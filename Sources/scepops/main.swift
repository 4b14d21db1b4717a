import SCEPOpsCLI

SCEPOps.runMain()

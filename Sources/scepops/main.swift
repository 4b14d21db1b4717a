import SCEPOpsCLI

SCEPOps.main()

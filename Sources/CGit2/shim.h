#ifndef SCEPOPS_CGIT2_SHIM_H
#define SCEPOPS_CGIT2_SHIM_H
#include <git2.h>

// git_libgit2_opts is variadic and does not import into Swift.
//
// scepops only reads objects (trees and blobs) and never runs a program named in a
// repository's config, which is what git's safe.directory guards against. CI checks out
// repos as another uid than the one running scepops, so owner validation is turned off.
static inline int scepops_git_disable_owner_validation(void) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

// libgit2 re-hashes every object it reads (SHA-1 with collision detection), which was
// three quarters of reading a large repo's blobs. git itself does not: objects are
// checked when they enter the repository (fetch, index-pack, fsck), not on each read.
static inline int scepops_git_disable_hash_verification(void) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

#endif

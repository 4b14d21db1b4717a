/* The floor of `validate --ref` that libgit2 sets: the commit's blobs read through
 * libgit2 (1.5 on Debian 12) the way scepops reads them, the size from the header and
 * then the blob, one after another, and nothing parsed. `Benchmarks/validate.sh`
 * measures it beside `git cat-file --batch`, which reads the same blobs about twice as fast.
 *
 * Usage: libgit2-read REPO (reads HEAD's tree). Prints the number of blobs and bytes. */
#include <git2.h>
#include <stdio.h>

static git_oid blobs[1 << 20];
static size_t count;

static int collect(const char *root, const git_tree_entry *entry, void *payload) {
    (void)root;
    (void)payload;
    if (git_tree_entry_type(entry) == GIT_OBJECT_BLOB && count < sizeof blobs / sizeof *blobs)
        blobs[count++] = *git_tree_entry_id(entry);
    return 0;
}

int main(int argc, char **argv) {
    git_repository *repository;
    git_object *tree;
    git_odb *database;
    size_t bytes = 0;
    if (argc != 2) return 2;
    git_libgit2_init();
    if (git_repository_open(&repository, argv[1]) || git_revparse_single(&tree, repository, "HEAD^{tree}") ||
        git_tree_walk((git_tree *)tree, GIT_TREEWALK_PRE, collect, NULL) || git_repository_odb(&database, repository)) {
        fprintf(stderr, "libgit2-read: %s\n", git_error_last() ? git_error_last()->message : "failed");
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t size;
        git_object_t type;
        git_odb_object *object;
        if (git_odb_read_header(&size, &type, database, &blobs[i]) || git_odb_read(&object, database, &blobs[i])) return 1;
        bytes += git_odb_object_size(object);
        git_odb_object_free(object);
    }
    printf("%zu blobs, %zu bytes\n", count, bytes);
    return 0;
}

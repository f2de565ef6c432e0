/* metadata-snapshot.c - see metadata-snapshot.h */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metadata-snapshot.h"
#include "netaddr.h"
#include "outbound.h"
#include "state.h"

struct CnMetadataSnapshot {
    gint refs;
    CnSite *site;
    CnMetadataIndex *index;
    GHashTable *files; /* machine name -> CnMetadataFiles* */
    char *run_dir;
    gboolean has_identity;
    CnMetadataIdentity identity; /* its strings owned */
    GDestroyNotify identity_destroy;
};

GBytes *cn_metadata_read_file(const char *path, gsize max, gboolean owner_only, GError **error)
{
    /* O_NONBLOCK: a FIFO put there must not hang the server. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (owner_only ? O_NOFOLLOW : 0));
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path, g_strerror(saved));
        return NULL;
    }
    struct stat st;
    const char *problem = NULL;
    if (fstat(fd, &st) < 0)
        problem = g_strerror(errno);
    else if (!S_ISREG(st.st_mode))
        problem = "not a regular file";
    else if (owner_only && (st.st_mode & (S_IRWXG | S_IRWXO)))
        problem = "readable or writable by others than its owner (chmod 600)";
    else if (owner_only && st.st_uid != geteuid())
        problem = "owned by another user";
    else if ((guint64)st.st_size > max)
        problem = "too large";
    char *contents = problem ? NULL : g_malloc(st.st_size ? (gsize)st.st_size : 1);
    gsize length = 0;
    while (!problem && length < (gsize)st.st_size) {
        ssize_t n = read(fd, contents + length, (gsize)st.st_size - length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            problem = n < 0 ? g_strerror(errno) : "changed while read";
            break;
        }
        length += (gsize)n;
    }
    close(fd);
    if (problem) {
        g_free(contents);
        if (strcmp(problem, "too large") == 0)
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: larger than %" G_GSIZE_FORMAT " bytes", path,
                        max);
        else
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", path, problem);
        return NULL;
    }
    return g_bytes_new_take(contents, length);
}

/* DIR/NAME, a regular file of at most CN_METADATA_FILE_MAX bytes; NULL
 * when missing or unusable (then WARNINGS says why). */
static GBytes *read_data_file(const char *dir, const char *name, GPtrArray *warnings)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    GBytes *data = cn_metadata_read_file(path, CN_METADATA_FILE_MAX, FALSE, &error);
    if (!data && !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_ptr_array_add(warnings, g_strdup_printf("%s (left out)", error->message));
    return data;
}

/* The first line of instance-id: 1-128 printable ASCII characters. */
static char *read_instance_id(const char *dir, GPtrArray *warnings)
{
    g_autoptr(GBytes) data = read_data_file(dir, "instance-id", warnings);
    if (!data)
        return NULL;
    gsize length;
    const char *text = g_bytes_get_data(data, &length);
    gsize end = 0;
    while (end < length && text[end] != '\n' && text[end] != '\r')
        end++;
    gboolean ok = end > 0 && end <= 128;
    for (gsize i = 0; ok && i < end; i++)
        ok = g_ascii_isgraph(text[i]);
    if (!ok) {
        g_ptr_array_add(warnings, g_strdup_printf("%s/instance-id: expected one line of 1-128 printable characters "
                                                  "without spaces (left out)", dir));
        return NULL;
    }
    return g_strndup(text, end);
}

CnMetadataFiles *cn_metadata_files_read(const char *data_dir, const char *machine, GPtrArray *warnings)
{
    g_autofree char *dir = g_build_filename(data_dir, machine, NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        return NULL;
    CnMetadataFiles *files = g_new0(CnMetadataFiles, 1);
    files->user_data = read_data_file(dir, "user-data", warnings);
    files->vendor_data = read_data_file(dir, "vendor-data", warnings);
    files->instance_id = read_instance_id(dir, warnings);
    return files;
}

CnMetadataSnapshot *cn_metadata_snapshot_new(CnSite *site, const char *data_dir, const char *run_dir,
                                             GPtrArray *warnings)
{
    CnMetadataSnapshot *snapshot = g_new0(CnMetadataSnapshot, 1);
    snapshot->refs = 1;
    snapshot->site = site;
    snapshot->index = cn_metadata_index_new(site);
    snapshot->files = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)cn_metadata_files_free);
    snapshot->run_dir = g_strdup(run_dir);
    for (guint i = 0; i < site->machines->len; i++) {
        const CnMachine *machine = site->machines->pdata[i];
        CnMetadataFiles *files = cn_metadata_files_read(data_dir, machine->name, warnings);
        if (files)
            g_hash_table_insert(snapshot->files, machine->name, files);
    }
    return snapshot;
}

CnMetadataSnapshot *cn_metadata_snapshot_ref(CnMetadataSnapshot *snapshot)
{
    g_atomic_int_inc(&snapshot->refs);
    return snapshot;
}

void cn_metadata_snapshot_unref(CnMetadataSnapshot *snapshot)
{
    if (!snapshot || !g_atomic_int_dec_and_test(&snapshot->refs))
        return;
    g_hash_table_unref(snapshot->files);
    cn_metadata_index_free(snapshot->index);
    cn_site_free(snapshot->site);
    g_free(snapshot->run_dir);
    g_free((char *)snapshot->identity.hypervisor);
    g_free((char *)snapshot->identity.key_id);
    if (snapshot->identity_destroy)
        snapshot->identity_destroy(snapshot->identity.sign_data);
    g_free(snapshot);
}

GPtrArray *cn_metadata_snapshot_candidates(const CnMetadataSnapshot *snapshot, uint32_t address)
{
    return cn_metadata_index_lookup(snapshot->index, address);
}

const CnSite *cn_metadata_snapshot_site(const CnMetadataSnapshot *snapshot)
{
    return snapshot->site;
}

void cn_metadata_snapshot_set_identity(CnMetadataSnapshot *snapshot, const char *hypervisor, const char *key_id,
                                       CnMetadataSignFunc sign, gpointer data, GDestroyNotify destroy)
{
    g_return_if_fail(!snapshot->has_identity);
    snapshot->has_identity = TRUE;
    snapshot->identity = (CnMetadataIdentity){ g_strdup(hypervisor), g_strdup(key_id), sign, data };
    snapshot->identity_destroy = destroy;
}

/* The host's outbound address as last announced (outbound.h); 0 when
 * none is recorded. */
static uint32_t recorded_outbound(const char *run_dir)
{
    g_autofree char *text = NULL;
    gsize length;
    CnOutbound outbound = { 0 };
    if (run_dir && cn_runtime_read(run_dir, CN_OUTBOUND_FILE, &text, &length, NULL) && text)
        cn_outbound_parse(CN_OUTBOUND_FILE, text, length, &outbound, NULL);
    return outbound.address;
}

CnMetadataResult cn_metadata_snapshot_answer(const CnMetadataSnapshot *snapshot, const CnLink *link,
                                             uint32_t address, const char *path, GBytes **body,
                                             const char **content_type)
{
    uint32_t outbound = link->net && link->net->forward == CN_FORWARD_NAT ? recorded_outbound(snapshot->run_dir) : 0;
    CnMetadataGuest guest = {
        .link = link,
        .address = address,
        .public_address = cn_metadata_public_address(link, address, outbound),
        .files = g_hash_table_lookup(snapshot->files, link->machine_name),
        .identity = snapshot->has_identity ? &snapshot->identity : NULL,
    };
    return cn_metadata_document(&guest, path, body, content_type);
}

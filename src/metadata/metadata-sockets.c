/* metadata-sockets.c - see metadata-sockets.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metadata-sockets.h"

#define LOCK_NAME ".lock"

/* What DIR/MACHINE.sock is now. */
typedef struct {
    char *target; /* the machine's own handler socket (a symlink), NULL: the server listens there */
} Entry;

struct CnSocketDir {
    char *path;
    int lock;
    GHashTable *entries; /* machine name -> Entry* */
};

static void entry_free(gpointer data)
{
    Entry *entry = data;
    g_free(entry->target);
    g_free(entry);
}

/* The directory: made (0700) when missing; else a directory of ours that
 * we can write. */
static gboolean prepare(const char *path, GError **error)
{
    if (g_mkdir_with_parents(path, 0700) < 0) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "socket directory %s: cannot make it: %s",
                    path, g_strerror(saved));
        return FALSE;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR, "socket directory %s is not a directory", path);
        return FALSE;
    }
    if (st.st_uid != geteuid()) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "socket directory %s belongs to uid %u, not to us (%u)",
                    path, (unsigned)st.st_uid, (unsigned)geteuid());
        return FALSE;
    }
    if (access(path, W_OK | X_OK) < 0) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "socket directory %s is not writable: %s",
                    path, g_strerror(saved));
        return FALSE;
    }
    if (st.st_mode & 0022) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                    "socket directory %s is writable by others (mode %03o): anyone could put a socket there", path,
                    (unsigned)(st.st_mode & 0777));
        return FALSE;
    }
    return TRUE;
}

/* Sockets and links left by a server that was killed: nobody answers
 * there (the lock says no server runs), so they go. */
static void remove_stale(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        if (!g_str_has_suffix(name, ".sock"))
            continue;
        g_autofree char *file = g_build_filename(path, name, NULL);
        struct stat st;
        if (lstat(file, &st) == 0 && (S_ISSOCK(st.st_mode) || S_ISLNK(st.st_mode)) && unlink(file) == 0)
            printf("%s: stale, removed\n", file);
    }
}

CnSocketDir *cn_socket_dir_open(const char *path, GError **error)
{
    if (!prepare(path, error))
        return NULL;
    g_autofree char *lock_path = g_build_filename(path, LOCK_NAME, NULL);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        if (lock >= 0)
            close(lock);
        if (saved == EWOULDBLOCK)
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                        "socket directory %s is in use by another metadata serve", path);
        else
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot lock %s: %s", lock_path,
                        g_strerror(saved));
        return NULL;
    }
    remove_stale(path);
    CnSocketDir *dir = g_new0(CnSocketDir, 1);
    dir->path = g_strdup(path);
    dir->lock = lock;
    dir->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    return dir;
}

/* Machines with a link on a metadata network: the ones a user-mode guest
 * of which is given a socket (render netdev --user). */
static gboolean has_metadata_link(const CnMachine *machine)
{
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (link->net && link->net->metadata)
            return TRUE;
    }
    return FALSE;
}

/* SOCKET is a UNIX socket that exists. */
static gboolean check_handler(const CnMachine *machine, GError **error)
{
    struct stat st;
    if (stat(machine->metadata_handler_socket, &st) < 0) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "[machine %s] metadata.handler %s: %s",
                    machine->name, machine->metadata_handler_socket, g_strerror(saved));
        return FALSE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "[machine %s] metadata.handler %s is not a UNIX socket",
                    machine->name, machine->metadata_handler_socket);
        return FALSE;
    }
    return TRUE;
}

/* DIR/NAME.sock made a symlink to TARGET at once (a guest connecting
 * meanwhile reaches the old place or the new, never nothing). */
static gboolean point_to(const char *file, const char *target, GError **error)
{
    g_autofree char *temporary = g_strdup_printf("%s.new.%d", file, (int)getpid());
    unlink(temporary);
    if (symlink(target, temporary) < 0 || rename(temporary, file) < 0) {
        int saved = errno;
        unlink(temporary);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot point %s at %s: %s", file, target,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

static void drop(CnSocketDir *dir, CnMetadataServer *server, const char *machine)
{
    g_autofree char *file = g_strdup_printf("%s/%s.sock", dir->path, machine);
    cn_metadata_server_forget_unix(server, file);
    unlink(file);
}

/* One machine in step: its handler's link, or the server's socket. */
static gboolean sync_machine(CnSocketDir *dir, CnMetadataServer *server, const CnMachine *machine, GError **error)
{
    g_autofree char *file = cn_user_socket_path(dir->path, machine->name, error);
    if (!file)
        return FALSE;
    Entry *entry = g_hash_table_lookup(dir->entries, machine->name);
    const char *target = machine->metadata_handler_socket;
    if (entry && g_strcmp0(entry->target, target) == 0)
        return TRUE;
    if (target) {
        if (!check_handler(machine, error) || !point_to(file, target, error))
            return FALSE;
        cn_metadata_server_forget_unix(server, file);
        printf("%s -> %s (the machine's own handler)\n", file, target);
    } else {
        if (entry)
            unlink(file); /* the link to its former handler */
        if (!cn_metadata_server_listen_unix(server, file, machine->name, error))
            return FALSE;
        printf("%s: listening for machine %s\n", file, machine->name);
    }
    Entry *next = g_new0(Entry, 1);
    next->target = g_strdup(target);
    g_hash_table_replace(dir->entries, g_strdup(machine->name), next);
    return TRUE;
}

gboolean cn_socket_dir_sync(CnSocketDir *dir, CnMetadataServer *server, const CnSite *site, GError **error)
{
    g_autoptr(GString) failures = g_string_new(NULL);
    g_autoptr(GHashTable) wanted = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < site->machines->len; i++) {
        const CnMachine *machine = site->machines->pdata[i];
        if (!has_metadata_link(machine))
            continue;
        g_hash_table_add(wanted, machine->name);
        g_autoptr(GError) local = NULL;
        if (!sync_machine(dir, server, machine, &local))
            g_string_append_printf(failures, "%s%s", failures->len ? "; " : "", local->message);
    }
    GHashTableIter iter;
    gpointer name;
    g_hash_table_iter_init(&iter, dir->entries);
    while (g_hash_table_iter_next(&iter, &name, NULL)) {
        if (g_hash_table_contains(wanted, name))
            continue;
        drop(dir, server, name);
        printf("%s/%s.sock: removed (machine %s is gone)\n", dir->path, (char *)name, (char *)name);
        g_hash_table_iter_remove(&iter);
    }
    fflush(stdout);
    if (failures->len) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", failures->str);
        return FALSE;
    }
    return TRUE;
}

gboolean cn_socket_dir_release(CnSocketDir *dir, CnMetadataServer *server, const char *machine)
{
    if (!g_hash_table_contains(dir->entries, machine))
        return FALSE;
    drop(dir, server, machine);
    g_hash_table_remove(dir->entries, machine);
    printf("%s/%s.sock: released\n", dir->path, machine);
    fflush(stdout);
    return TRUE;
}

guint cn_socket_dir_count(const CnSocketDir *dir)
{
    return g_hash_table_size(dir->entries);
}

void cn_socket_dir_close(CnSocketDir *dir, CnMetadataServer *server)
{
    if (!dir)
        return;
    GHashTableIter iter;
    gpointer name;
    g_hash_table_iter_init(&iter, dir->entries);
    while (g_hash_table_iter_next(&iter, &name, NULL))
        drop(dir, server, name);
    g_hash_table_unref(dir->entries);
    close(dir->lock); /* the lock file stays: removing it would race the next server */
    g_free(dir->path);
    g_free(dir);
}

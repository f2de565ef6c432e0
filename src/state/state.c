/* state.c - see state.h */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "model.h"
#include "state.h"

G_DEFINE_QUARK(cn-state-error-quark, cn_state_error)

struct CnState {
    char *dir;
    int lock_fd; /* -1 when read-only and there is no lock file */
    gboolean exists;
    gboolean writable;
};

static gboolean set_errno_error(GError **error, int code, const char *what, const char *path)
{
    int saved = errno;
    g_set_error(error, CN_STATE_ERROR, code, "%s %s: %s", what, path, g_strerror(saved));
    return FALSE;
}

/* Temporary files are DIR/.NAME.tmp.PID: the leading dot keeps them apart
 * from every file they stand in for (state files have fixed prefixes, the
 * hook's records start with "hook-"), whatever names a site or libvirt
 * allows in NAME, a domain called "web.tmp.12" included. */
static char *temporary_path(const char *dir, const char *name)
{
    return g_strdup_printf("%s/.%s.tmp.%d", dir, name, (int)getpid());
}

/* The writer's PID when NAME is a temporary file, else 0. */
static pid_t temporary_writer(const char *name)
{
    const char *suffix = name[0] == '.' ? g_strrstr(name, ".tmp.") : NULL;
    if (!suffix || suffix == name)
        return 0;
    const char *digits = suffix + strlen(".tmp.");
    if (*digits < '1' || *digits > '9' || strlen(digits) > 10)
        return 0;
    gint64 pid = 0;
    for (const char *c = digits; *c; c++) {
        if (!g_ascii_isdigit(*c))
            return 0;
        pid = pid * 10 + (*c - '0');
    }
    return pid <= G_MAXINT ? (pid_t)pid : 0;
}

/* Every writer holds the exclusive lock while its temporary file exists:
 * one seen under the lock was left by a writer that died. */
static void remove_stale_temporaries(const char *dir)
{
    g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));) {
        if (temporary_writer(name)) {
            g_autofree char *path = g_build_filename(dir, name, NULL);
            unlink(path);
        }
    }
}

int cn_make_dir(const char *dir, int mode)
{
    if (mkdir(dir, (mode_t)mode) == 0 || errno == EEXIST)
        return 0;
    return g_mkdir_with_parents(dir, mode);
}

CnState *cn_state_open(const char *dir, gboolean writable, GError **error)
{
    g_autofree char *lock_path = g_build_filename(dir, "lock", NULL);
    CnState *state = g_new0(CnState, 1);
    state->dir = g_strdup(dir);
    state->lock_fd = -1;
    state->writable = writable;

    if (writable && g_mkdir_with_parents(dir, 0755) < 0) {
        set_errno_error(error, CN_STATE_ERROR_READONLY, "cannot create state directory", dir);
        cn_state_close(state);
        return NULL;
    }
    state->lock_fd = open(lock_path, (writable ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
    if (state->lock_fd < 0) {
        /* No lock file: nothing was ever written under a lock, but files
         * put there by hand (or by an older version) are still read. */
        if (!writable && (errno == ENOENT || errno == ENOTDIR)) {
            state->exists = g_file_test(dir, G_FILE_TEST_IS_DIR);
            return state;
        }
        set_errno_error(error, writable ? CN_STATE_ERROR_READONLY : CN_STATE_ERROR_IO,
                        "cannot open lock", lock_path);
        cn_state_close(state);
        return NULL;
    }
    if (writable && access(dir, W_OK) < 0) {
        set_errno_error(error, CN_STATE_ERROR_READONLY, "cannot write state directory", dir);
        cn_state_close(state);
        return NULL;
    }
    state->exists = TRUE;
    if (cn_flock_wait(state->lock_fd, writable ? LOCK_EX : LOCK_SH, -1) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot lock", lock_path);
        cn_state_close(state);
        return NULL;
    }
    if (writable)
        remove_stale_temporaries(dir);
    return state;
}

void cn_state_close(CnState *state)
{
    if (!state)
        return;
    if (state->lock_fd >= 0)
        close(state->lock_fd); /* releases the flock */
    g_free(state->dir);
    g_free(state);
}

const char *cn_state_dir(const CnState *state)
{
    return state->dir;
}

gboolean cn_state_is_writable(const CnState *state)
{
    return state->writable;
}

gboolean cn_state_read(CnState *state, const char *name, char **contents, gsize *length, GError **error)
{
    g_autofree char *path = g_build_filename(state->dir, name, NULL);
    g_autoptr(GError) local = NULL;

    *contents = NULL;
    *length = 0;
    if (!state->exists)
        return TRUE;
    if (!g_file_get_contents(path, contents, length, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "%s", local->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean write_all(int fd, const char *data, gsize length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FALSE;
        data += n;
        length -= (gsize)n;
    }
    return TRUE;
}

static gboolean sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return FALSE;
    int rc = fsync(fd);
    close(fd);
    return rc == 0;
}

gboolean cn_state_write(CnState *state, const char *name, const char *contents, gsize length,
                        GError **error)
{
    g_return_val_if_fail(state->writable, FALSE);
    g_autofree char *path = g_build_filename(state->dir, name, NULL);
    g_autofree char *temp = temporary_path(state->dir, name);

    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot create", temp);
    if (!write_all(fd, contents, length) || fsync(fd) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot write", temp);
        close(fd);
        unlink(temp);
        return FALSE;
    }
    if (close(fd) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot write", temp);
        unlink(temp);
        return FALSE;
    }
    if (rename(temp, path) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot replace", path);
        unlink(temp);
        return FALSE;
    }
    if (!sync_dir(state->dir))
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot sync", state->dir);
    return TRUE;
}

gboolean cn_state_remove(CnState *state, const char *name, GError **error)
{
    g_return_val_if_fail(state->writable, FALSE);
    g_autofree char *path = g_build_filename(state->dir, name, NULL);
    if (unlink(path) < 0 && errno != ENOENT)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot remove", path);
    return TRUE;
}

gboolean cn_state_purge(CnState *state, GError **error)
{
    g_return_val_if_fail(state->writable, FALSE);
    g_autoptr(GDir) dir = g_dir_open(state->dir, 0, NULL);
    for (const char *name; dir && (name = g_dir_read_name(dir));) {
        g_autofree char *path = g_build_filename(state->dir, name, NULL);
        if (unlink(path) < 0 && errno != ENOENT)
            return set_errno_error(error, CN_STATE_ERROR_IO, "cannot remove", path);
    }
    /* The open lock file keeps working after its name is gone. */
    if (rmdir(state->dir) < 0 && errno != ENOENT)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot remove", state->dir);
    return TRUE;
}

gboolean cn_runtime_write(const char *dir, const char *name, const char *contents, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *temp = temporary_path(dir, name);
    if (cn_make_dir(dir, 0755) < 0)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot create", dir);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot create", temp);
    gboolean ok = write_all(fd, contents, strlen(contents));
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(temp, path) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot write", path);
        unlink(temp);
        return FALSE;
    }
    return TRUE;
}

gboolean cn_runtime_read(const char *dir, const char *name, char **contents, gsize *length, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) local = NULL;
    *contents = NULL;
    *length = 0;
    if (g_file_get_contents(path, contents, length, &local))
        return TRUE;
    if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
    g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "%s", local->message);
    return FALSE;
}

gboolean cn_runtime_remove(const char *dir, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (unlink(path) < 0 && errno != ENOENT)
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot remove", path);
    return TRUE;
}

void cn_runtime_list_orphans(const char *dir, GPtrArray *names)
{
    g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));) {
        pid_t writer = temporary_writer(name);
        if (!writer || kill(writer, 0) == 0 || errno != ESRCH)
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, cn_compare_string_ptrs);
}

void cn_runtime_remove_orphans(const char *dir, GPtrArray *removed, GPtrArray *warnings)
{
    g_autoptr(GPtrArray) orphans = g_ptr_array_new_with_free_func(g_free);
    cn_runtime_list_orphans(dir, orphans);
    for (guint i = 0; i < orphans->len; i++) {
        const char *name = orphans->pdata[i];
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (unlink(path) == 0)
            g_ptr_array_add(removed, g_strdup(name));
        else if (errno != ENOENT)
            g_ptr_array_add(warnings, g_strdup_printf("cannot remove %s: %s", path, g_strerror(errno)));
    }
}

int cn_flock_wait(int fd, int operation, int timeout_ms)
{
    gint64 deadline = timeout_ms < 0 ? 0 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    /* Looked at again after 0.5 ms, then twice as long each time up to
     * 10 ms: most holders hold a lock for a write and a batch. */
    gulong pause_us = 500;
    for (;;) {
        if (flock(fd, operation | (timeout_ms < 0 ? 0 : LOCK_NB)) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || g_get_monotonic_time() >= deadline)
            return -1;
        g_usleep(pause_us);
        pause_us = MIN(pause_us * 2, 10 * 1000);
    }
}

static int lock_path(const char *path, int flags, int timeout_ms, GError **error)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot open", path);
        return -1;
    }
    if (cn_flock_wait(fd, LOCK_EX, timeout_ms) < 0) {
        if (errno == EWOULDBLOCK)
            g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_BUSY, "%s: still locked after %d ms", path,
                        timeout_ms);
        else
            set_errno_error(error, CN_STATE_ERROR_IO, "cannot lock", path);
        close(fd);
        return -1;
    }
    return fd;
}

int cn_lock_file(const char *path, int timeout_ms, GError **error)
{
    return lock_path(path, O_RDWR | O_CREAT, timeout_ms, error);
}

int cn_runtime_lock(const char *dir, int timeout_ms, GError **error)
{
    if (cn_make_dir(dir, 0755) < 0) {
        set_errno_error(error, CN_STATE_ERROR_IO, "cannot create", dir);
        return -1;
    }
    return lock_path(dir, O_RDONLY | O_DIRECTORY, timeout_ms, error);
}

static gboolean parse_loaded(const char *path, char *text, gsize length, CnStateParser parse, gpointer *out,
                             GError **error)
{
    *out = text ? parse(path, text, length, error) : NULL;
    g_free(text);
    return !text || *out;
}

gboolean cn_state_load(CnState *state, const char *name, CnStateParser parse, gpointer *out, GError **error)
{
    char *text = NULL;
    gsize length;
    *out = NULL;
    if (!cn_state_read(state, name, &text, &length, error))
        return FALSE;
    g_autofree char *path = g_build_filename(cn_state_dir(state), name, NULL);
    return parse_loaded(path, text, length, parse, out, error);
}

gboolean cn_runtime_load(const char *dir, const char *name, CnStateParser parse, gpointer *out, GError **error)
{
    char *text = NULL;
    gsize length;
    *out = NULL;
    if (!cn_runtime_read(dir, name, &text, &length, error))
        return FALSE;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return parse_loaded(path, text, length, parse, out, error);
}

gboolean cn_runtime_load_head(const char *dir, const char *name, gsize max, CnStateParser parse, gpointer *out,
                              GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || set_errno_error(error, CN_STATE_ERROR_IO, "cannot open", path);
    g_autofree char *text = g_malloc(max);
    gsize length = 0;
    ssize_t n = 1;
    while (length < max && (n = read(fd, text + length, max - length)) != 0) {
        if (n < 0 && errno != EINTR)
            break;
        length += n > 0 ? (gsize)n : 0;
    }
    int read_errno = errno;
    close(fd);
    if (n < 0) {
        errno = read_errno;
        return set_errno_error(error, CN_STATE_ERROR_IO, "cannot read", path);
    }
    return parse_loaded(path, g_steal_pointer(&text), length, parse, out, error);
}

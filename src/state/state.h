/* state.h - the state directory: one lock, whole-file atomic writes.
 *
 * Every writer takes the directory's lock (flock on DIR/lock) for the
 * whole read-modify-write, and replaces files by writing a temporary file,
 * fsync, rename, fsync of the directory: a reader or a crash sees the old
 * file or the new one, never a mix.
 */
#pragma once

#include <glib.h>

#define CN_STATE_ERROR (cn_state_error_quark())
GQuark cn_state_error_quark(void);
typedef enum {
    CN_STATE_ERROR_IO,       /* message carries strerror */
    CN_STATE_ERROR_READONLY, /* directory missing or not writable */
    CN_STATE_ERROR_BUSY,     /* a lock not had in time */
} CnStateError;

/* flock(FD, OPERATION) (LOCK_EX or LOCK_SH), retried on EINTR, waiting at
 * most TIMEOUT_MS (negative: as long as it takes).  0, or -1 with errno
 * (EWOULDBLOCK when the time ran out). */
int cn_flock_wait(int fd, int operation, int timeout_ms);
/* Opens PATH (creating it) and takes an exclusive lock on it as
 * cn_flock_wait does: the descriptor (close it to release the lock), or
 * -1 with ERROR (CN_STATE_ERROR_BUSY when the time ran out). */
int cn_lock_file(const char *path, int timeout_ms, GError **error);

/* Makes DIR (and its parents) with MODE unless it exists: one mkdir when
 * it does, where g_mkdir_with_parents looks first (the hook's files are
 * written on every event).  -1 with errno when it cannot be made; a file
 * in its place is found by the open that follows (ENOTDIR). */
int cn_make_dir(const char *dir, int mode);

typedef struct CnState CnState;

/* Opens DIR.  WRITABLE: creates it (0755) when missing and takes the lock
 * exclusively; fails with CN_STATE_ERROR_READONLY when that is not
 * possible.  Otherwise it takes a shared lock when the directory exists,
 * and reads nothing when it does not. */
CnState *cn_state_open(const char *dir, gboolean writable, GError **error);
void cn_state_close(CnState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnState, cn_state_close)

const char *cn_state_dir(const CnState *state);
gboolean cn_state_is_writable(const CnState *state);

/* Reads NAME; a missing file is *CONTENTS = NULL and TRUE. */
gboolean cn_state_read(CnState *state, const char *name, char **contents, gsize *length, GError **error);
/* Replaces NAME atomically (the state must be writable). */
gboolean cn_state_write(CnState *state, const char *name, const char *contents, gsize length,
                        GError **error);
gboolean cn_state_remove(CnState *state, const char *name, GError **error);

/* A state file's parser: FILE (its path) names it in errors. */
typedef gpointer (*CnStateParser)(const char *file, const char *text, gsize length, GError **error);
/* Reads NAME and parses it: *OUT the object, or NULL when there is no
 * such file (TRUE either way); FALSE on a read or parse error. */
gboolean cn_state_load(CnState *state, const char *name, CnStateParser parse, gpointer *out, GError **error);
/* Removes every file in the state directory and the directory itself
 * (repair --purge).  The lock is held until cn_state_close. */
gboolean cn_state_purge(CnState *state, GError **error);

/* Runtime files: state that lives as long as the kernel's (the hook's
 * records of what it put in nftables), in a directory on tmpfs (/run).
 * Written by atomic rename, without fsync and without the lock: a power
 * loss takes the kernel state with it, and each file has one writer at a
 * time (libvirt serialises a network's and a domain's events). */
gboolean cn_runtime_write(const char *dir, const char *name, const char *contents, GError **error);
/* Takes an exclusive lock on DIR itself (made when missing), as
 * cn_lock_file does: for files of DIR with more than one writer (a
 * network's record: the network hook and define), with no lock file to be
 * left behind. */
int cn_runtime_lock(const char *dir, int timeout_ms, GError **error);
/* A missing file is *CONTENTS = NULL and TRUE. */
gboolean cn_runtime_read(const char *dir, const char *name, char **contents, gsize *length, GError **error);
/* As cn_state_load, for the runtime file NAME of DIR. */
gboolean cn_runtime_load(const char *dir, const char *name, CnStateParser parse, gpointer *out, GError **error);
/* As cn_runtime_load, with only the first MAX bytes of the file read:
 * for a parser that needs only the first lines of a file that grows with
 * the network's machines. */
gboolean cn_runtime_load_head(const char *dir, const char *name, gsize max, CnStateParser parse, gpointer *out,
                              GError **error);
gboolean cn_runtime_remove(const char *dir, const char *name, GError **error);
/* Removes the temporary files (.NAME.tmp.PID) in DIR whose writer PID is
 * gone: a writer killed between create and rename.  Their names go in
 * REMOVED, files that could not be removed in WARNINGS (char*).  PIDs are
 * those of the caller's PID namespace: call it from the writers' one. */
void cn_runtime_remove_orphans(const char *dir, GPtrArray *removed, GPtrArray *warnings);
/* The names cn_runtime_remove_orphans would remove, sorted, into NAMES. */
void cn_runtime_list_orphans(const char *dir, GPtrArray *names);

/* events-notify.c - see events-notify.h */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "events-notify.h"
#include "events.h"
#include "state.h"

/* In the detached process: stdin, stdout, stderr on /dev/null and every
 * other descriptor closed, so nothing libvirt gave the hook stays open. */
static void detach_descriptors(void)
{
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 ? max : 1024) && fd < 65536; fd++)
        close(fd);
}

/* Runs one subscriber with LINE on stdin; kills its process group after
 * TIMEOUT seconds. */
static void run_subscriber(const char *path, const char *line, guint timeout)
{
    int input = memfd_create("carthage-net-event", MFD_CLOEXEC);
    if (input < 0 || write(input, line, strlen(line)) < 0 || write(input, "\n", 1) < 0 ||
        lseek(input, 0, SEEK_SET) < 0) {
        syslog(LOG_WARNING, "event subscriber %s: cannot prepare its input: %s", path, g_strerror(errno));
        if (input >= 0)
            close(input);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        syslog(LOG_WARNING, "event subscriber %s: cannot fork: %s", path, g_strerror(errno));
        close(input);
        return;
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(input, STDIN_FILENO);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(input);
    setpgid(pid, pid);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR)
            return;
        if (g_get_monotonic_time() >= deadline) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            syslog(LOG_WARNING, "event subscriber %s: killed after %u s", path, timeout);
            return;
        }
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        syslog(LOG_WARNING, "event subscriber %s: failed (status %d)", path, status);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Subscribers run as the caller (root, for the hook): only what root (or
 * the caller) owns and nobody else may change. */
static gboolean trusted(const struct stat *st)
{
    return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

gboolean cn_events_notify(const char *dir, GPtrArray *lines, guint timeout, GError **error)
{
    struct stat dir_stat;
    if (lines->len == 0 || stat(dir, &dir_stat) < 0)
        return TRUE; /* nothing to say, or no subscribers */
    if (!trusted(&dir_stat)) {
        syslog(LOG_WARNING, "carthage-net: event subscribers in %s not run: the directory is writable by "
                            "others or not owned by root", dir);
        return TRUE;
    }
    DIR *listing = opendir(dir);
    if (!listing)
        return TRUE;
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    for (struct dirent *entry; (entry = readdir(listing));) {
        if (entry->d_name[0] == '.')
            continue;
        char *path = g_build_filename(dir, entry->d_name, NULL);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0 && trusted(&st)) {
            g_ptr_array_add(paths, path);
            continue;
        }
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && !trusted(&st))
            syslog(LOG_WARNING, "carthage-net: event subscriber %s not run: writable by others or not owned "
                                "by root", path);
        g_free(path);
    }
    closedir(listing);
    if (paths->len == 0) {
        g_ptr_array_unref(paths);
        return TRUE;
    }
    g_ptr_array_sort(paths, compare_names);

    /* Two forks: the notifier is a grandchild in its own session, so the
     * caller neither waits for it nor leaves a zombie behind. */
    pid_t child = fork();
    if (child < 0) {
        g_ptr_array_unref(paths);
        g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "cannot start event subscribers: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (child == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        detach_descriptors();
        /* One worker per subscriber: each gets the lines in order, and a
         * slow one delays nobody else. */
        for (guint i = 0; i < paths->len; i++) {
            if (fork() != 0)
                continue;
            for (guint l = 0; l < lines->len; l++)
                run_subscriber(paths->pdata[i], lines->pdata[l], timeout);
            _exit(0);
        }
        _exit(0);
    }
    g_ptr_array_unref(paths);
    int status;
    waitpid(child, &status, 0); /* the intermediate child exits at once */
    return TRUE;
}

gboolean cn_events_publish(const char *state_dir, const char *events_dir, GPtrArray *events, GError **error)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) local = NULL;
    if (events->len == 0)
        return TRUE;
    if (!cn_events_append_all(state_dir, events, 0, lines, &local)) {
        g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "%u event(s) not logged: %s", events->len,
                    local->message);
        return FALSE;
    }
    if (!cn_events_notify(events_dir, lines, CN_EVENTS_SUBSCRIBER_SECONDS, &local)) {
        g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "event subscribers: %s", local->message);
        return FALSE;
    }
    return TRUE;
}

/* events.c - see events.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "netaddr.h"
#include "state.h"

CnEvent *cn_event_new(const char *name)
{
    CnEvent *event = g_new0(CnEvent, 1);
    event->name = g_strdup(name);
    event->keys = g_ptr_array_new_with_free_func(g_free);
    event->values = g_ptr_array_new_with_free_func(g_free);
    return event;
}

void cn_event_free(CnEvent *event)
{
    if (!event)
        return;
    g_ptr_array_unref(event->keys);
    g_ptr_array_unref(event->values);
    g_free(event->name);
    g_free(event);
}

void cn_event_add_raw(CnEvent *event, const char *key, const char *json)
{
    g_ptr_array_add(event->keys, g_strdup(key));
    g_ptr_array_add(event->values, g_strdup(json));
}

void cn_event_add_string(CnEvent *event, const char *key, const char *value)
{
    g_autoptr(CnJson) json = cn_json_new();
    cn_json_string(json, value);
    cn_event_add_raw(event, key, cn_json_text(json));
}

void cn_json_addresses(CnJson *json, GArray *addresses)
{
    cn_json_begin_array(json);
    for (guint i = 0; addresses && i < addresses->len; i++) {
        char text[CN_V4_STR_MAX];
        cn_v4_format(g_array_index(addresses, uint32_t, i), text);
        cn_json_string(json, text);
    }
    cn_json_end_array(json);
}

void cn_event_add_addresses(CnEvent *event, const char *key, GArray *addresses)
{
    g_autoptr(CnJson) json = cn_json_new();
    cn_json_addresses(json, addresses);
    cn_event_add_raw(event, key, cn_json_text(json));
}

/* The proleptic Gregorian date of DAYS since 1970-01-01 (H. Hinnant's
 * civil_from_days: eras of 400 years, March-based years). */
static void civil_from_days(gint64 days, gint64 *year, int *month, int *day)
{
    days += 719468;
    gint64 era = (days >= 0 ? days : days - 146096) / 146097;
    gint64 day_of_era = days - era * 146097;                                            /* [0, 146096] */
    gint64 year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    gint64 day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); /* [0, 365] */
    gint64 month_index = (5 * day_of_year + 2) / 153;                                   /* [0, 11], March first */
    *day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

void cn_format_utc(gint64 time_usec, char stamp[CN_UTC_STAMP_MAX])
{
    /* Arithmetic only: gmtime_r loads /etc/localtime on its first call
     * (glibc's tzset), six system calls in a hook that needs no zone. */
    gint64 seconds = time_usec / G_USEC_PER_SEC, usec = time_usec % G_USEC_PER_SEC;
    if (usec < 0) {
        usec += G_USEC_PER_SEC;
        seconds -= 1;
    }
    gint64 days = seconds / 86400, second_of_day = seconds % 86400;
    if (second_of_day < 0) {
        second_of_day += 86400;
        days -= 1;
    }
    gint64 year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999) {
        g_strlcpy(stamp, "1970-01-01T00:00:00.000000Z", CN_UTC_STAMP_MAX);
        return;
    }
    g_snprintf(stamp, CN_UTC_STAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)year, month, day,
               (int)(second_of_day / 3600), (int)(second_of_day / 60 % 60), (int)(second_of_day % 60),
               (int)usec);
}

char *cn_event_format(const CnEvent *event, guint64 seq, gint64 time_usec)
{
    char when[CN_UTC_STAMP_MAX];
    cn_format_utc(time_usec, when);
    CnJson *json = cn_json_new();
    cn_json_begin_object(json);
    cn_json_member_uint(json, "seq", seq);
    cn_json_member_string(json, "time", when);
    cn_json_member_string(json, "event", event->name);
    for (guint i = 0; i < event->keys->len; i++) {
        cn_json_key(json, event->keys->pdata[i]);
        cn_json_raw(json, event->values->pdata[i]);
    }
    cn_json_end_object(json);
    return cn_json_steal(json);
}

guint64 cn_event_line_seq(const char *line)
{
    if (!g_str_has_prefix(line, "{\"seq\":") || !g_ascii_isdigit(line[7]))
        return 0;
    char *end;
    guint64 seq = g_ascii_strtoull(line + 7, &end, 10);
    /* Not a record of ours: a number JSON readers cannot hold exactly,
     * or one that does not end where a number must. */
    if (seq > CN_EVENTS_SEQ_MAX || (*end != ',' && *end != '}'))
        return 0;
    return seq;
}

/* The seq of LINE (LENGTH bytes, no newline) when it is a whole record:
 * one that a crash or a full disk did not cut short. */
static guint64 record_seq(const char *line, gsize length)
{
    if (length == 0 || line[length - 1] != '}')
        return 0;
    return cn_event_line_seq(line);
}

/* What an append needs of the log's end: one fstat and one read. */
typedef struct {
    off_t size;
    gboolean ends_line; /* empty, or its last byte a newline */
    guint64 seq;        /* of its last record; 0 when none */
} LogTail;

static LogTail read_tail(int fd)
{
    LogTail tail = { 0, TRUE, 0 };
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return tail;
    tail.size = st.st_size;
    off_t start = st.st_size > 4096 ? st.st_size - 4096 : 0;
    char buffer[4097];
    ssize_t n = pread(fd, buffer, (size_t)(st.st_size - start), start);
    if (n <= 0)
        return tail;
    buffer[n] = '\0';
    tail.ends_line = buffer[n - 1] == '\n';
    /* Backwards over the lines.  A last line without its newline counts
     * too: the append that asks is about to end it, and readers will then
     * take it for a record if it looks like one. */
    ssize_t end = tail.ends_line ? n - 1 : n;
    while (end > 0) {
        ssize_t begin = end - 1;
        while (begin >= 0 && buffer[begin] != '\n')
            begin--;
        if (begin < 0 && start > 0)
            break; /* the first line in the buffer may be a tail only */
        guint64 seq = record_seq(buffer + (begin + 1), (gsize)(end - begin - 1));
        if (seq) {
            tail.seq = seq;
            break;
        }
        end = begin;
    }
    return tail;
}

static gboolean fail_errno(GError **error, const char *what, const char *path)
{
    int saved = errno;
    g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "%s %s: %s", what, path, g_strerror(saved));
    return FALSE;
}

gboolean cn_events_append_all(const char *dir, GPtrArray *events, gsize rotate_bytes, GPtrArray *lines,
                              GError **error)
{
    g_autofree char *path = g_build_filename(dir, CN_EVENTS_LOG, NULL);
    g_autofree char *rotated = g_strconcat(path, ".1", NULL);
    g_autofree char *lock_path = g_strconcat(path, ".lock", NULL);
    if (events->len == 0)
        return TRUE;
    if (rotate_bytes == 0)
        rotate_bytes = CN_EVENTS_ROTATE_BYTES;
    if (cn_make_dir(dir, 0755) < 0)
        return fail_errno(error, "cannot create", dir);

    /* A lock file of its own: the log itself is renamed on rotation. */
    int lock = cn_lock_file(lock_path, -1, error);
    if (lock < 0)
        return FALSE;
    gboolean ok = FALSE;
    g_autoptr(GString) text = g_string_new(NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail_errno(error, "cannot open", path);
        goto out;
    }
    LogTail tail = read_tail(fd);
    guint64 seq = tail.seq;
    /* A line cut short (a crash, a full disk) must not swallow ours. */
    if (!tail.ends_line)
        g_string_append_c(text, '\n');
    if (seq == 0) {
        /* just rotated (or new): continue from the rotated log */
        int old = open(rotated, O_RDONLY | O_CLOEXEC);
        if (old >= 0) {
            seq = read_tail(old).seq;
            close(old);
        }
    }
    if (seq + events->len > CN_EVENTS_SEQ_MAX) {
        errno = EOVERFLOW;
        fail_errno(error, "sequence numbers exhausted in", path);
        close(fd);
        goto out;
    }
    gint64 now = g_get_real_time();
    for (guint i = 0; i < events->len; i++) {
        g_autofree char *line = cn_event_format(events->pdata[i], ++seq, now);
        g_string_append_printf(text, "%s\n", line);
        if (lines)
            g_ptr_array_add(lines, g_steal_pointer(&line));
    }
    if (write(fd, text->str, text->len) != (ssize_t)text->len || fsync(fd) < 0) {
        fail_errno(error, "cannot append to", path);
        close(fd);
        goto out;
    }
    /* Its size now: every writer appends under the lock we hold. */
    if ((gsize)tail.size + text->len >= rotate_bytes && rename(path, rotated) < 0) {
        fail_errno(error, "cannot rotate", path);
        close(fd);
        goto out;
    }
    close(fd);
    ok = TRUE;
out:
    close(lock); /* releases the lock */
    return ok;
}

gboolean cn_events_append(const char *dir, const CnEvent *event, gsize rotate_bytes, guint64 *seq,
                          char **line, GError **error)
{
    g_autoptr(GPtrArray) events = g_ptr_array_new();
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(events, (gpointer)event);
    if (!cn_events_append_all(dir, events, rotate_bytes, lines, error))
        return FALSE;
    *seq = cn_event_line_seq(lines->pdata[0]);
    if (line)
        *line = g_strdup(lines->pdata[0]);
    return TRUE;
}

static gboolean read_file(const char *path, guint64 since, CnEventFunc func, gpointer data, guint64 *last,
                          GError **error)
{
    g_autofree char *text = NULL;
    gsize length;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &text, &length, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    /* By length: after a crash a file can hold NUL bytes (blocks never
     * written), which must not hide the records after them. */
    for (gsize start = 0; start < length;) {
        char *end = memchr(text + start, '\n', length - start);
        if (!end)
            break; /* a line still being written */
        *end = '\0';
        gsize line_length = (gsize)(end - (text + start));
        const char *line = text + start;
        guint64 seq = strlen(line) == line_length ? record_seq(line, line_length) : 0;
        if (seq > since && seq > *last) {
            func(line, seq, data);
            *last = seq;
        }
        start += line_length + 1;
    }
    return TRUE;
}

gboolean cn_events_read(const char *dir, guint64 since, CnEventFunc func, gpointer data, guint64 *last,
                        GError **error)
{
    g_autofree char *path = g_build_filename(dir, CN_EVENTS_LOG, NULL);
    g_autofree char *rotated = g_strconcat(path, ".1", NULL);
    *last = since;
    return read_file(rotated, since, func, data, last, error) && read_file(path, since, func, data, last, error);
}

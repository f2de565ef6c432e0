/* events.h - Carthage events (resolved, public_address, network-started,
 * network-stopped, guest-attached, guest-detached) as JSON lines in an
 * append-only log in the state directory.
 *
 *   {"seq":12,"time":"2026-11-23T17:40:01.123456Z","event":"guest-attached",
 *    "network":"md","machine":"m1",...}
 *
 * Appends take an flock on the log, read the last sequence number from the
 * log's tail, write one line and fsync before returning: durable, and
 * numbered without gaps even with hooks running in parallel.  At a size
 * limit the log is renamed to events.log.1 (the previous .1 goes); a
 * reader that saw seq N finds N+1 either at the start of the new log or
 * in .1.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_EVENTS_LOG "events.log"
#define CN_EVENTS_ROTATE_BYTES (4 * 1024 * 1024)
/* The largest sequence number: what a JSON reader holds exactly (2^53-1). */
#define CN_EVENTS_SEQ_MAX ((guint64)9007199254740991)

#include "json-writer.h"

/* One event under construction: fields are added in order. */
typedef struct {
    char *name;
    GPtrArray *keys;   /* char* */
    GPtrArray *values; /* char*: JSON text each */
} CnEvent;

CnEvent *cn_event_new(const char *name);
void cn_event_free(CnEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnEvent, cn_event_free)
void cn_event_add_string(CnEvent *event, const char *key, const char *value);
/* VALUE is already JSON (an array or object built by the caller). */
void cn_event_add_raw(CnEvent *event, const char *key, const char *json);
/* KEY: ["A.B.C.D", ...] */
void cn_event_add_addresses(CnEvent *event, const char *key, GArray *addresses);
/* ["A.B.C.D", ...] as the next value of JSON. */
void cn_json_addresses(CnJson *json, GArray *addresses);
/* TIME_USEC (microseconds since the epoch) as the log's time,
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (UTC; years 0 to 9999, else the epoch). */
#define CN_UTC_STAMP_MAX 32
void cn_format_utc(gint64 time_usec, char stamp[CN_UTC_STAMP_MAX]);
/* The complete line, without the newline. */
char *cn_event_format(const CnEvent *event, guint64 seq, gint64 time_usec);

/* Appends EVENT to DIR/events.log (creating DIR), rotating at
 * ROTATE_BYTES (0: the default); *SEQ is its number and *LINE (when not
 * NULL) the line written, without the newline. */
gboolean cn_events_append(const char *dir, const CnEvent *event, gsize rotate_bytes, guint64 *seq,
                          char **line, GError **error);
/* Appends EVENTS (CnEvent*) with one lock, one write and one fsync;
 * LINES (when not NULL) gets the lines written. */
gboolean cn_events_append_all(const char *dir, GPtrArray *events, gsize rotate_bytes, GPtrArray *lines,
                              GError **error);

/* The sequence number of a log line, or 0 when it has none (or one
 * above CN_EVENTS_SEQ_MAX). */
guint64 cn_event_line_seq(const char *line);

/* Calls FUNC for every line with seq > SINCE, oldest first, across the
 * rotated log and the current one. */
typedef void (*CnEventFunc)(const char *line, guint64 seq, gpointer data);
gboolean cn_events_read(const char *dir, guint64 since, CnEventFunc func, gpointer data, guint64 *last,
                        GError **error);



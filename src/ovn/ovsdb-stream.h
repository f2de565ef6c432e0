/* ovsdb-stream.h - JSON-RPC messages out of an OVSDB byte stream.
 *
 * RFC 7047 sends JSON objects back to back on one stream, with no length
 * or delimiter: a message ends where its outermost object closes.  The
 * framer finds those ends (strings and escapes understood, nothing else
 * parsed) and hands out each message's text whole.  Pure: no I/O. */
#pragma once

#include <glib.h>

#define CN_OVSDB_STREAM_ERROR (cn_ovsdb_stream_error_quark())
GQuark cn_ovsdb_stream_error_quark(void);

typedef enum {
    CN_OVSDB_STREAM_ERROR_SYNTAX,   /* not a stream of JSON objects */
    CN_OVSDB_STREAM_ERROR_TOO_BIG,  /* one message over the limit */
} CnOvsdbStreamError;

/* The largest message taken: a whole northbound table fits many times. */
#define CN_OVSDB_MESSAGE_MAX (256u * 1024 * 1024)

typedef struct CnOvsdbFramer CnOvsdbFramer;

CnOvsdbFramer *cn_ovsdb_framer_new(gsize limit);
void cn_ovsdb_framer_free(CnOvsdbFramer *framer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnOvsdbFramer, cn_ovsdb_framer_free)

void cn_ovsdb_framer_feed(CnOvsdbFramer *framer, const char *data, gsize length);
/* The next whole message (NUL-terminated, to free), or NULL: with *ERROR
 * set when the stream is broken (it stays broken), else when more bytes
 * are needed. */
char *cn_ovsdb_framer_next(CnOvsdbFramer *framer, GError **error);

/* ovsdb-stream.c - where each JSON-RPC message of the stream ends. */
#include "ovsdb-stream.h"

G_DEFINE_QUARK(cn-ovsdb-stream-error-quark, cn_ovsdb_stream_error)

struct CnOvsdbFramer {
    GByteArray *buffer;
    gsize limit;
    gsize scanned;  /* bytes of buffer already scanned */
    guint depth;    /* open { and [ */
    gboolean in_string, escaped, started;
    GError *broken;
};

CnOvsdbFramer *cn_ovsdb_framer_new(gsize limit)
{
    CnOvsdbFramer *framer = g_new0(CnOvsdbFramer, 1);
    framer->buffer = g_byte_array_new();
    framer->limit = limit;
    return framer;
}

void cn_ovsdb_framer_free(CnOvsdbFramer *framer)
{
    if (!framer)
        return;
    g_byte_array_unref(framer->buffer);
    g_clear_error(&framer->broken);
    g_free(framer);
}

void cn_ovsdb_framer_feed(CnOvsdbFramer *framer, const char *data, gsize length)
{
    if (!framer->broken)
        g_byte_array_append(framer->buffer, (const guint8 *)data, (guint)length);
}

static char *break_stream(CnOvsdbFramer *framer, GError **error, CnOvsdbStreamError code, const char *format,
                          unsigned value)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    framer->broken = g_error_new(CN_OVSDB_STREAM_ERROR, code, format, value);
#pragma GCC diagnostic pop
    g_propagate_error(error, g_error_copy(framer->broken));
    return NULL;
}

char *cn_ovsdb_framer_next(CnOvsdbFramer *framer, GError **error)
{
    if (framer->broken) {
        g_propagate_error(error, g_error_copy(framer->broken));
        return NULL;
    }
    const guint8 *data = framer->buffer->data;
    gsize length = framer->buffer->len;
    for (gsize i = framer->scanned; i < length; i++) {
        guint8 c = data[i];
        if (framer->in_string) {
            if (framer->escaped)
                framer->escaped = FALSE;
            else if (c == '\\')
                framer->escaped = TRUE;
            else if (c == '"')
                framer->in_string = FALSE;
            continue;
        }
        if (!framer->started) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                continue;
            if (c != '{')
                return break_stream(framer, error, CN_OVSDB_STREAM_ERROR_SYNTAX,
                                    "the server sent byte 0x%02x where a JSON-RPC message (an object) should start",
                                    c);
            /* Whitespace before the message is dropped. */
            g_byte_array_remove_range(framer->buffer, 0, (guint)i);
            data = framer->buffer->data;
            length = framer->buffer->len;
            i = 0;
            framer->started = TRUE;
        }
        if (c == '"') {
            framer->in_string = TRUE;
        } else if (c == '{' || c == '[') {
            framer->depth++;
        } else if (c == '}' || c == ']') {
            if (framer->depth == 0)
                return break_stream(framer, error, CN_OVSDB_STREAM_ERROR_SYNTAX,
                                    "unbalanced '%c' from the server", c);
            if (--framer->depth == 0) {
                char *message = g_strndup((const char *)data, i + 1);
                g_byte_array_remove_range(framer->buffer, 0, (guint)(i + 1));
                framer->scanned = 0;
                framer->started = FALSE;
                return message;
            }
        }
    }
    framer->scanned = length;
    if (framer->started && length > framer->limit)
        return break_stream(framer, error, CN_OVSDB_STREAM_ERROR_TOO_BIG,
                            "a message from the server is over %u bytes", (unsigned)framer->limit);
    if (!framer->started) {
        g_byte_array_set_size(framer->buffer, 0);
        framer->scanned = 0;
    }
    return NULL;
}

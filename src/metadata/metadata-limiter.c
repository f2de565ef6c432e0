/* metadata-limiter.c - see metadata-limiter.h */
#include <string.h>

#include "metadata-limiter.h"

/* It also refuses requests that announce a body (Transfer-Encoding, or a
 * Content-Length other than 0) and header blocks libsoup would reject after
 * parsing the request line: a Content-Length that is not just zeros (empty,
 * "0 0", "0\r0"), a CR not followed by LF, a folded (continued) header
 * line.  A metadata request has no body and needs none of those, and
 * libsoup 3.2.3 leaks the request path each time it rejects a request that
 * way (found by fuzz-metadata-http), which a guest could repeat without
 * end. */

/* A Content-Length value passes as OWS 0+ OWS, nothing else. */
typedef enum { LENGTH_NONE, LENGTH_BEFORE, LENGTH_ZEROS, LENGTH_AFTER } LengthValue;

struct _CnRequestLimit {
    GObject parent;
    gsize limit, count;
    /* The header scan: which line, at its start (reading a field name),
     * the name so far, and whether the header block has ended. */
    guint line;
    gboolean in_name, line_empty, headers_done;
    gboolean after_cr; /* the last byte was a CR: only LF may follow */
    LengthValue length; /* where in a Content-Length value */
    char name[24];
    guint name_length;
};

static void request_limit_restart(CnRequestLimit *self)
{
    self->count = 0;
    self->line = 0;
    self->in_name = FALSE;
    self->line_empty = TRUE;
    self->headers_done = FALSE;
    self->after_cr = FALSE;
    self->length = LENGTH_NONE;
    self->name_length = 0;
}

static gboolean refuse(GError **error, const char *why)
{
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", why);
    return FALSE;
}

/* One byte C of a Content-Length value (not CR or LF). */
static gboolean length_byte(CnRequestLimit *self, char c, GError **error)
{
    gboolean blank = c == ' ' || c == '\t';
    switch (self->length) {
    case LENGTH_BEFORE:
        if (c == '0')
            self->length = LENGTH_ZEROS;
        else if (!blank)
            return refuse(error, "a request with a body (content-length)");
        break;
    case LENGTH_ZEROS:
        if (blank)
            self->length = LENGTH_AFTER;
        else if (c != '0')
            return refuse(error, "a request with a body (content-length)");
        break;
    case LENGTH_AFTER:
        if (!blank)
            return refuse(error, "a malformed content-length");
        break;
    case LENGTH_NONE:
        break;
    }
    return TRUE;
}

/* FALSE when the header block names a body or is malformed (above). */
static gboolean scan_headers(CnRequestLimit *self, const char *bytes, gsize length, GError **error)
{
    for (gsize i = 0; i < length && !self->headers_done; i++) {
        char c = bytes[i];
        if (self->after_cr && c != '\n')
            return refuse(error, "a CR not followed by LF");
        self->after_cr = c == '\r';
        if (c == '\r')
            continue;
        if (c == '\n') {
            if (self->length == LENGTH_BEFORE)
                return refuse(error, "an empty content-length");
            if (self->line > 0 && self->line_empty) {
                self->headers_done = TRUE;
                break;
            }
            self->line++;
            self->in_name = TRUE;
            self->length = LENGTH_NONE;
            self->line_empty = TRUE;
            self->name_length = 0;
            continue;
        }
        if (self->line > 0 && self->line_empty && (c == ' ' || c == '\t'))
            return refuse(error, "a folded header line");
        self->line_empty = FALSE;
        if (!length_byte(self, c, error))
            return FALSE;
        if (!self->in_name || self->line == 0)
            continue;
        if (c == ':') {
            self->name[self->name_length] = '\0';
            self->in_name = FALSE;
            if (strcmp(self->name, "content-length") == 0)
                self->length = LENGTH_BEFORE;
            if (strcmp(self->name, "transfer-encoding") == 0)
                return refuse(error, "a request with a body (transfer-encoding)");
        } else if (self->name_length + 1 < sizeof self->name) {
            self->name[self->name_length++] = g_ascii_tolower(c);
        } else {
            self->in_name = FALSE; /* longer than any name looked for */
        }
    }
    return TRUE;
}

static GConverterResult request_limit_convert(GConverter *converter, const void *in, gsize in_size, void *out,
                                              gsize out_size, GConverterFlags flags, gsize *bytes_read,
                                              gsize *bytes_written, GError **error)
{
    CnRequestLimit *self = CN_REQUEST_LIMIT(converter);
    gsize n = MIN(in_size, out_size);
    *bytes_read = *bytes_written = 0;
    if (n == 0) {
        if (flags & G_CONVERTER_INPUT_AT_END)
            return G_CONVERTER_FINISHED;
        if (flags & G_CONVERTER_FLUSH)
            return G_CONVERTER_FLUSHED;
        if (out_size == 0) {
            g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "no room");
            return G_CONVERTER_ERROR;
        }
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "more input needed");
        return G_CONVERTER_ERROR;
    }
    if (self->count + n > self->limit) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "request larger than %zu bytes",
                    (size_t)self->limit);
        return G_CONVERTER_ERROR;
    }
    if (!scan_headers(self, in, n, error))
        return G_CONVERTER_ERROR;
    memcpy(out, in, n);
    self->count += n;
    *bytes_read = *bytes_written = n;
    if ((flags & G_CONVERTER_INPUT_AT_END) && n == in_size)
        return G_CONVERTER_FINISHED;
    return G_CONVERTER_CONVERTED;
}

static void request_limit_reset(GConverter *converter)
{
    request_limit_restart(CN_REQUEST_LIMIT(converter));
}

static void request_limit_converter_init(GConverterIface *iface)
{
    iface->convert = request_limit_convert;
    iface->reset = request_limit_reset;
}

G_DEFINE_FINAL_TYPE_WITH_CODE(CnRequestLimit, cn_request_limit, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_CONVERTER, request_limit_converter_init))

static void cn_request_limit_class_init(CnRequestLimitClass *klass)
{
}

static void cn_request_limit_init(CnRequestLimit *self)
{
    request_limit_restart(self);
}

GConverter *cn_request_limit_new(gsize max_bytes)
{
    CnRequestLimit *self = g_object_new(CN_TYPE_REQUEST_LIMIT, NULL);
    self->limit = max_bytes;
    return G_CONVERTER(self);
}

/* metadata-limiter.h - a byte limit per request on a metadata connection:
 * a pass-through GConverter on the input stream handed to libsoup.
 *
 * A request (request line, headers, any body) of more than the limit is
 * cut off; so are requests that announce a body (Transfer-Encoding, or a
 * Content-Length other than 0) and header blocks libsoup would reject
 * after parsing the request line, which libsoup 3.2.3 leaks the path of
 * (metadata-limiter.c).  g_converter_reset() starts the count again for
 * the next request. */
#pragma once

#include <gio/gio.h>

#define CN_TYPE_REQUEST_LIMIT (cn_request_limit_get_type())
G_DECLARE_FINAL_TYPE(CnRequestLimit, cn_request_limit, CN, REQUEST_LIMIT, GObject)

GConverter *cn_request_limit_new(gsize max_bytes);

/* ovsdb-remote.c - "unix:PATH", "tcp:HOST[:PORT]", "ssl:HOST[:PORT]". */
#include <string.h>

#include "netaddr.h"
#include "ovsdb-remote.h"

static gboolean fail(char **why, const char *format, const char *text)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (why)
        *why = g_strdup_printf(format, text);
#pragma GCC diagnostic pop
    return FALSE;
}

static gboolean parse_port(const char *text, uint16_t *port)
{
    if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 5)
        return FALSE;
    unsigned long value = strtoul(text, NULL, 10);
    if (value < 1 || value > 65535)
        return FALSE;
    *port = (uint16_t)value;
    return TRUE;
}

/* HOST[:PORT], HOST an IPv4 address or DNS name, or [IPv6][:PORT]. */
static gboolean parse_host_port(const char *text, char **host, uint16_t *port, char **why)
{
    const char *port_text = NULL;
    g_autofree char *name = NULL;

    if (*text == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return fail(why, "'%s': an IPv6 address needs its closing ']'", text);
        name = g_strndup(text + 1, (gsize)(close - text - 1));
        CnV6Address v6;
        if (!cn_v6_parse(name, &v6))
            return fail(why, "'%s' is not an IPv6 address in brackets", text);
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1])
            return fail(why, "'%s': only ':PORT' may follow the address", text);
    } else {
        const char *colon = strchr(text, ':');
        name = colon ? g_strndup(text, (gsize)(colon - text)) : g_strdup(text);
        port_text = colon ? colon + 1 : NULL;
        uint32_t v4;
        if (!cn_v4_parse(name, &v4) && !cn_dns_name_is_valid(name))
            return fail(why, "'%s' is not an IPv4 address or DNS name (IPv6 goes in brackets)", name);
    }
    *port = CN_OVSDB_NB_PORT;
    if (port_text && !parse_port(port_text, port))
        return fail(why, "'%s' is not a port in 1-65535", port_text);
    *host = g_steal_pointer(&name);
    return TRUE;
}

gboolean cn_ovsdb_remote_parse(const char *text, CnOvsdbRemote *out, char **why)
{
    CnOvsdbRemote remote = { 0 };

    if (g_str_has_prefix(text, "unix:")) {
        const char *path = text + 5;
        if (*path == '\0')
            return fail(why, "'%s': unix: needs the socket's file name", text);
        for (const char *c = path; *c; c++)
            if (g_ascii_iscntrl(*c))
                return fail(why, "'%s': control character in the file name", text);
        remote.transport = CN_OVSDB_UNIX;
        remote.path = g_strdup(path);
    } else if (g_str_has_prefix(text, "tcp:") || g_str_has_prefix(text, "ssl:")) {
        remote.transport = text[0] == 't' ? CN_OVSDB_TCP : CN_OVSDB_SSL;
        if (!parse_host_port(text + 4, &remote.host, &remote.port, why))
            return FALSE;
    } else {
        return fail(why, "'%s' is none of unix:PATH, tcp:HOST[:PORT], ssl:HOST[:PORT]", text);
    }
    *out = remote;
    return TRUE;
}

gboolean cn_ovsdb_remote_is_valid(const char *text)
{
    g_auto(CnOvsdbRemote) remote = { 0 };
    return cn_ovsdb_remote_parse(text, &remote, NULL);
}

void cn_ovsdb_remote_clear(CnOvsdbRemote *remote)
{
    g_clear_pointer(&remote->path, g_free);
    g_clear_pointer(&remote->host, g_free);
}

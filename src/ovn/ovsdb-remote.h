/* ovsdb-remote.h - where an OVSDB server listens, as ovn-nbctl --db says it:
 * "unix:PATH", "tcp:HOST[:PORT]" or "ssl:HOST[:PORT]" (HOST an IPv4
 * address, a DNS name, or an IPv6 address in brackets; PORT defaults to
 * the northbound database's 6641).  Pure: parsing only. */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef enum {
    CN_OVSDB_UNIX,
    CN_OVSDB_TCP,
    CN_OVSDB_SSL,
} CnOvsdbTransport;

#define CN_OVSDB_NB_PORT 6641

typedef struct {
    CnOvsdbTransport transport;
    char *path;    /* unix */
    char *host;    /* tcp, ssl: without brackets */
    uint16_t port; /* tcp, ssl */
} CnOvsdbRemote;

/* FALSE, with *WHY (may be NULL) saying what is wrong, when TEXT is not a
 * remote; OUT is then untouched. */
gboolean cn_ovsdb_remote_parse(const char *text, CnOvsdbRemote *out, char **why);
gboolean cn_ovsdb_remote_is_valid(const char *text);
void cn_ovsdb_remote_clear(CnOvsdbRemote *remote);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnOvsdbRemote, cn_ovsdb_remote_clear)

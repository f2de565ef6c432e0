/* spoof-seen.h - how many forged frames each guest port had sent when
 * carthage-net events watch last looked (the @spoofers counters of the
 * bridge tables), kept in the runtime file "spoof-seen" so that a restart
 * or a --once run reports only what is new:
 *
 *   carthage-net-spoof-seen 1
 *   NETWORK PORT PACKETS
 *
 * One line per port with a counter; ports are interface names, networks
 * carthage-net names. */
#pragma once

#include <glib.h>

#define CN_SPOOF_SEEN_FILE "spoof-seen"

/* "NETWORK PORT" -> GUINT64 packets (guint64*). */
typedef GHashTable CnSpoofSeen;

CnSpoofSeen *cn_spoof_seen_new(void);
void cn_spoof_seen_set(CnSpoofSeen *seen, const char *network, const char *port, guint64 packets);
/* 0 when not seen. */
guint64 cn_spoof_seen_get(CnSpoofSeen *seen, const char *network, const char *port);
/* A CnStateParser. */
gpointer cn_spoof_seen_parse(const char *file, const char *text, gsize length, GError **error);
/* Sorted lines, so that equal contents are equal text. */
char *cn_spoof_seen_format(CnSpoofSeen *seen);

/* ops-spoof.c - see ops-spoof.h */
#include <linux/netfilter.h>
#include <string.h>

#include "events-notify.h"
#include "events.h"
#include "netaddr.h"
#include "nft.h"
#include "ops-spoof.h"
#include "spoof-seen.h"
#include "state.h"

/* The MAC pinned to PORT (from @port_mac), or FALSE. */
static gboolean port_mac(GArray *ports, const char *port, uint8_t mac[6])
{
    for (guint i = 0; i < ports->len; i++) {
        const CnNftElement *element = &g_array_index(ports, CnNftElement, i);
        if (strncmp((const char *)element->key, port, CN_NFT_PORT_KEY_LEN) == 0) {
            memcpy(mac, element->key + CN_NFT_PORT_KEY_LEN, 6);
            return TRUE;
        }
    }
    return FALSE;
}

static CnEvent *spoof_event(const CnNetwork *net, const char *port, GArray *ports, guint64 dropped, guint64 total)
{
    CnEvent *event = cn_event_new("spoof-dropped");
    cn_event_add_string(event, "network", net->name);
    cn_event_add_string(event, "port", port);
    uint8_t mac[6];
    if (port_mac(ports, port, mac)) {
        const CnLink *link = cn_network_link_with_mac(net, mac);
        char text[CN_MAC_STR_MAX];
        cn_mac_format(mac, text);
        cn_event_add_string(event, "machine", link ? link->machine_name : NULL);
        cn_event_add_string(event, "interface", link ? link->iface : NULL);
        cn_event_add_string(event, "mac", text);
    }
    g_autofree char *dropped_text = g_strdup_printf("%" G_GUINT64_FORMAT, dropped);
    g_autofree char *total_text = g_strdup_printf("%" G_GUINT64_FORMAT, total);
    cn_event_add_raw(event, "dropped", dropped_text);
    cn_event_add_raw(event, "total", total_text);
    return event;
}

/* NET's ports that sent more since SEEN: events into EVENTS, and the
 * counts into NOW. */
static gboolean look_at_network(const CnNetwork *net, CnSpoofSeen *seen, CnSpoofSeen *now, GPtrArray *events,
                                GError **error)
{
    g_autoptr(GArray) spoofers = NULL, ports = NULL;
    gboolean exists;
    if (!cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "spoofers", &spoofers, &exists, error))
        return FALSE;
    if (!exists || spoofers->len == 0)
        return TRUE;
    if (!cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "port_mac", &ports, &exists, error))
        return FALSE;
    for (guint i = 0; i < spoofers->len; i++) {
        const CnNftElement *element = &g_array_index(spoofers, CnNftElement, i);
        g_autofree char *port = g_strndup((const char *)element->key, CN_NFT_PORT_KEY_LEN);
        guint64 before = cn_spoof_seen_get(seen, net->name, port);
        /* Fewer than before: the element timed out and came back. */
        guint64 dropped = element->packets >= before ? element->packets - before : element->packets;
        cn_spoof_seen_set(now, net->name, port, element->packets);
        if (dropped)
            g_ptr_array_add(events, spoof_event(net, port, ports, dropped, element->packets));
    }
    return TRUE;
}

gboolean cn_ops_spoof_report(const CnSite *site, const char *run_dir, const char *state_dir, const char *events_dir,
                             guint *reported, GPtrArray *warnings, GError **error)
{
    *reported = 0;
    CnSpoofSeen *loaded = NULL;
    g_autoptr(GError) local = NULL;
    if (!cn_runtime_load(run_dir, CN_SPOOF_SEEN_FILE, cn_spoof_seen_parse, (gpointer *)&loaded, &local)) {
        /* A damaged record: start again from nothing (reports totals once). */
        g_ptr_array_add(warnings, g_strdup_printf("%s (counting again from nothing)", local->message));
        loaded = NULL;
    }
    g_autoptr(GHashTable) seen = loaded ? loaded : cn_spoof_seen_new();
    g_autoptr(GHashTable) now = cn_spoof_seen_new();
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify)cn_event_free);
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (cn_network_has_isolation(net) && !look_at_network(net, seen, now, events, error))
            return FALSE;
    }
    if (events->len && !cn_events_publish(state_dir, events_dir, events, error))
        return FALSE;
    /* Written when it changed only: this runs every 10 s. */
    g_autofree char *text = cn_spoof_seen_format(now);
    g_autofree char *before = cn_spoof_seen_format(seen);
    if ((strcmp(text, before) != 0 || !loaded) && !cn_runtime_write(run_dir, CN_SPOOF_SEEN_FILE, text, error))
        return FALSE;
    *reported = events->len;
    return TRUE;
}

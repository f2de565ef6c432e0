/* hook-qemu.c - libvirt qemu events: each guest port's elements added
 * when QEMU starts (the tap name is known from then on) or libvirtd
 * reconnects, and removed when it stops. */
#include <string.h>
#include <syslog.h>

#include "hook-record.h"
#include "hook.h"
#include "ops-ports.h"
#include "netaddr.h"
#include "outbound.h"
#include "state.h"

/* The network an interface is on: its <source network>, or for a pool TAP
 * (type ethernet) the network of the carthage-net link with its MAC. */
static const char *interface_network(const HookDomain *domain, const HookInterface *iface)
{
    if (iface->network)
        return iface->network;
    const HookLink *link = iface->has_mac ? hook_domain_link(domain, iface->mac) : NULL;
    return link ? link->network : NULL;
}

/* The network's line of its record: the guests' lines (one per machine
 * the network defines) are not this hook's to read, the domain's own XML
 * says what its ports are. */
static CnHookRecord *load_record(const HookEvent *event, const char *network)
{
    g_autofree char *name = cn_hook_record_file_name(network);
    CnHookRecord *record = NULL;
    cn_runtime_load_head(event->run_dir, name, CN_HOOK_RECORD_HEAD_MAX, (CnStateParser)cn_hook_record_parse_network,
                         (gpointer *)&record, NULL);
    return record;
}

/* The engine's view of the network from the network hook's record. */
static CnIsoNetwork *record_network(const CnHookRecord *record)
{
    CnIsoNetwork *net = cn_iso_network_new(record->name, record->bridge);
    net->metadata = record->metadata;
    net->default_handler = record->default_handler;
    net->ipv6 = record->ipv6;
    net->has_v6_prefix = record->has_v6_prefix;
    net->v6_prefix = record->v6_prefix;
    return net;
}

static CnIsoGuest *make_guest(const HookDomain *domain, const HookInterface *iface, const CnIsoNetwork *net)
{
    CnIsoGuest *guest = cn_iso_guest_new(iface->tap, iface->mac);
    const HookLink *link = hook_domain_link(domain, iface->mac);
    if (link) {
        /* Pinned to the addresses carthage-net gave it, when it gave any. */
        guest->rendered = link->addresses->len > 0;
        g_array_append_vals(guest->addresses, link->addresses->data, link->addresses->len);
        guest->handler = link->handler;
    }
    cn_iso_guest_add_v6(guest, net, link && link->has_v6 ? &link->v6 : NULL);
    return guest;
}

/* The interface with MAC, once libvirt made its tap. */
static const HookInterface *interface_with_tap(const HookDomain *domain, const uint8_t mac[6])
{
    for (guint i = 0; i < domain->interfaces->len; i++) {
        const HookInterface *iface = domain->interfaces->pdata[i];
        if (iface->has_mac && iface->tap && memcmp(iface->mac, mac, 6) == 0)
            return iface;
    }
    return NULL;
}

/* Carthage's "resolved": every link of the machine known on the host (tap,
 * MAC, address, network); and "public_address" for its 1:1 NAT pairs. */
static void emit_resolved(const HookEvent *event, const HookDomain *domain)
{
    const char *libvirt_name = domain->name ? domain->name : event->name;
    const char *machine = domain->machine ? domain->machine : libvirt_name;
    if (domain->links->len == 0)
        return;
    g_autoptr(CnJson) links = cn_json_new();
    cn_json_begin_array(links);
    for (guint i = 0; i < domain->links->len; i++) {
        const HookLink *link = domain->links->pdata[i];
        const HookInterface *iface = interface_with_tap(domain, link->mac);
        if (!iface)
            return; /* not resolved yet */
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(link->mac, mac);
        cn_json_begin_object(links);
        cn_json_member_string(links, "iface", link->iface ? link->iface : "");
        cn_json_member_string(links, "network", link->network ? link->network : "");
        cn_json_member_string(links, "tap", iface->tap);
        cn_json_member_string(links, "mac", mac);
        cn_json_key(links, "ipv4");
        cn_json_addresses(links, link->addresses);
        cn_json_end_object(links);
    }
    cn_json_end_array(links);
    CnEvent *resolved = cn_event_new("resolved");
    cn_event_add_string(resolved, "machine", machine);
    cn_event_add_string(resolved, "domain", libvirt_name);
    cn_event_add_raw(resolved, "links", cn_json_text(links));
    hook_emit(event, resolved);

    for (guint i = 0; i < domain->links->len; i++) {
        const HookLink *link = domain->links->pdata[i];
        for (guint j = 0; j < link->nat->len; j++) {
            const CnIsoNat *pair = &g_array_index(link->nat, CnIsoNat, j);
            hook_emit(event, cn_event_public_address(libvirt_name, link->network, pair->private_address,
                                                     pair->public_address, "one-to-one", NULL));
        }
    }
}

static const char *domain_name(const HookEvent *event, const HookDomain *domain)
{
    return domain->name ? domain->name : event->name;
}

static CnEvent *ovn_event(const char *type, const HookEvent *event, const HookDomain *domain, const HookLink *link)
{
    char mac[CN_MAC_STR_MAX];
    cn_mac_format(link->mac, mac);
    CnEvent *news = cn_event_new(type);
    cn_event_add_string(news, "domain", domain_name(event, domain));
    cn_event_add_string(news, "network", link->network ? link->network : "");
    cn_event_add_string(news, "mac", mac);
    cn_event_add_string(news, "ovn_port", link->ovn_port);
    return news;
}

static void emit_ovn_attached(const HookEvent *event, const HookDomain *domain, const HookLink *link,
                              const HookInterface *iface)
{
    CnEvent *attached = ovn_event("guest-attached", event, domain, link);
    cn_event_add_string(attached, "port", iface->tap);
    cn_event_add_addresses(attached, "ipv4", link->addresses);
    hook_emit(event, attached);
    hook_log(event, LOG_INFO, "network %s port %s: on OVN (logical port %s): nothing for nftables", link->network,
             iface->tap, link->ovn_port);
    /* forward nat: the guest's traffic leaves from the router's address,
     * but for the addresses with a 1:1 NAT of their own (OVN's
     * dnat_and_snat wins over the network's SNAT). */
    for (guint i = 0; link->snat && i < link->addresses->len; i++) {
        uint32_t address = g_array_index(link->addresses, uint32_t, i);
        gboolean one_to_one = FALSE;
        for (guint j = 0; j < link->nat->len && !one_to_one; j++)
            one_to_one = g_array_index(link->nat, CnIsoNat, j).private_address == address;
        if (!one_to_one)
            hook_emit(event, cn_event_public_address(domain_name(event, domain), link->network, address, link->snat,
                                                     "masquerade", NULL));
    }
}

/* stopped: OVN guests' news, from the domain's metadata (nothing of theirs
 * is recorded: there is nothing to undo here). */
static void emit_ovn_detached(const HookEvent *event)
{
    const HookDomain *domain = &event->input->domain;
    for (guint i = 0; i < domain->links->len; i++) {
        const HookLink *link = domain->links->pdata[i];
        if (link->ovn_port)
            hook_emit(event, ovn_event("guest-detached", event, domain, link));
    }
}

/* public_address for the ports on masqueraded networks: the host's
 * outbound address, for this domain, or for every running one when that
 * address changed since it was last announced.  The events so far go
 * first, so that these follow the guest's resolved.  Not fatal, and never
 * a long wait: the guest runs either way, and `carthage-net events watch`
 * announces it later. */
#define HOOK_OUTBOUND_LOCK_MS 2000

static void emit_masquerade(const HookEvent *event, const HookDomain *domain)
{
    g_autoptr(GError) error = NULL;
    CnOutboundPlaces places = { event->run_dir, event->state_dir, event->events_dir, HOOK_OUTBOUND_LOCK_MS };
    hook_flush_events(event);
    if (!cn_outbound_refresh(&places, domain->name ? domain->name : event->name, NULL, NULL, &error))
        hook_log(event, LOG_WARNING, "public address not announced: %s", error->message);
}

/* Ports of other domains whose taps libvirt gave to DOMAIN_NAME, and of
 * this domain's previous run: gone from their records and the kernel,
 * said in the log and as their guest-detached (no "stopped" will name
 * them). */
static void emit_taken_over(const HookEvent *event, const char *domain_name, GPtrArray *taken_over)
{
    for (guint i = 0; i < taken_over->len; i++) {
        const CnPortTakenOver *taken = taken_over->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(taken->port->mac, mac);
        if (!taken->domain) {
            hook_log(event, LOG_WARNING, "network %s port %s: MAC %s was allowed there by no record: removed",
                     taken->port->network, taken->port->tap, mac);
            continue; /* nobody to tell */
        }
        if (strcmp(taken->domain, domain_name) == 0)
            hook_log(event, LOG_WARNING,
                     "network %s port %s (%s): of this domain's previous run, whose stopped never ran: released",
                     taken->port->network, taken->port->tap, mac);
        else
            hook_log(event, LOG_WARNING,
                     "network %s port %s (%s): taken over from domain %s, whose record still named it: libvirt "
                     "gave the tap to %s", taken->port->network, taken->port->tap, mac, taken->domain, domain_name);
        CnEvent *detached = cn_event_new("guest-detached");
        cn_event_add_string(detached, "domain", taken->domain);
        cn_event_add_string(detached, "network", taken->port->network);
        cn_event_add_string(detached, "port", taken->port->tap);
        cn_event_add_string(detached, "mac", mac);
        hook_emit(event, detached);
    }
}

/* start, reconnect: every port on a carthage-net network gets its
 * elements; the ports are recorded for "stopped", whose XML has no tap
 * names any more. */
/* One port of the domain to isolate, found by add_ports' first pass. */
typedef struct {
    CnPortAttach attach;
    const HookInterface *iface;
    gboolean metadata;   /* the network serves metadata: a port it cannot isolate stops the start */
    gboolean masquerade; /* the network masquerades */
    CnIsoNetwork *net;
    CnIsoGuest *guest;
} PortToAttach;

static void port_to_attach_free(PortToAttach *port)
{
    cn_iso_network_free(port->net);
    cn_iso_guest_free(port->guest);
    g_free(port);
}

static gboolean add_ports(const HookEvent *event, GError **error)
{
    const HookDomain *domain = &event->input->domain;
    const char *domain_name = domain->name ? domain->name : event->name;
    g_autoptr(GPtrArray) ports = cn_hook_ports_new();
    g_autoptr(GHashTable) records =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)cn_hook_record_free);
    g_autoptr(GPtrArray) wanted = g_ptr_array_new_with_free_func((GDestroyNotify)port_to_attach_free);

    /* First, what to isolate (and whether the start may go on at all)... */
    for (guint i = 0; i < domain->interfaces->len; i++) {
        const HookInterface *iface = domain->interfaces->pdata[i];
        const char *network = interface_network(domain, iface);
        if (!network || !iface->tap || !iface->has_mac)
            continue;
        /* One read per network, however many ports the domain has on it. */
        const HookLink *link = hook_domain_link(domain, iface->mac);
        if (link && link->ovn_port) {
            /* OVN's pipeline pins it (port security), isolates it (ACLs)
             * and serves it: nothing for nftables here, only the news. */
            emit_ovn_attached(event, domain, link, iface);
            continue;
        }
        if (!g_hash_table_contains(records, network))
            g_hash_table_insert(records, g_strdup(network), load_record(event, network));
        const CnHookRecord *record = g_hash_table_lookup(records, network);
        if (!record) {
            /* A carthage-net metadata link on a network without our
             * isolation (started before the hook was installed) must not
             * come up unprotected. */
            if (link && link->handler.set) {
                g_set_error(error, HOOK_ERROR, 0,
                            "carthage-net: network %s has no carthage-net isolation; restart it (virsh "
                            "net-destroy/net-start) or run carthage-net repair", network);
                /* The start fails: what a previous run left goes. */
                g_autoptr(GPtrArray) none = g_ptr_array_new();
                g_autoptr(GPtrArray) taken_over =
                    g_ptr_array_new_with_free_func((GDestroyNotify)cn_port_taken_over_free);
                cn_ports_attach_many(event->run_dir, domain_name, ports, none, TRUE, NULL, NULL, taken_over);
                emit_taken_over(event, domain_name, taken_over);
                return FALSE;
            }
            continue;
        }
        PortToAttach *port = g_new0(PortToAttach, 1);
        port->iface = iface;
        port->metadata = record->metadata;
        port->masquerade = record->masquerade;
        port->net = record_network(record);
        port->guest = make_guest(domain, iface, port->net);
        port->attach = (CnPortAttach){ network, port->net, port->guest };
        g_ptr_array_add(wanted, port);
    }

    /* ...then all of them recorded at once and isolated in one batch. */
    g_autoptr(GPtrArray) attaches = g_ptr_array_new();
    for (guint i = 0; i < wanted->len; i++)
        g_ptr_array_add(attaches, &((PortToAttach *)wanted->pdata[i])->attach);
    g_autofree CnPortResult *results = g_new0(CnPortResult, wanted->len + 1);
    g_autofree GError **errors = g_new0(GError *, wanted->len + 1);
    g_autoptr(GPtrArray) taken_over = g_ptr_array_new_with_free_func((GDestroyNotify)cn_port_taken_over_free);
    /* At start libvirt has just given the domain its taps: one still in a
     * set is another domain's stale claim.  At reconnect they are its own. */
    gboolean claim = strcmp(event->operation, "start") == 0;
    cn_ports_attach_many(event->run_dir, domain_name, ports, attaches, claim, results, errors, taken_over);
    emit_taken_over(event, domain_name, taken_over);

    gboolean ok = TRUE, masquerade = FALSE;
    for (guint i = 0; i < wanted->len; i++) {
        const PortToAttach *port = wanted->pdata[i];
        const char *network = port->attach.network;
        const char *tap = port->iface->tap;
        g_autoptr(GError) local = g_steal_pointer(&errors[i]);
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(port->iface->mac, mac);
        if (!ok)
            continue;
        if (results[i] == CN_PORT_NOT_RECORDED) {
            hook_log(event, LOG_ERR, "cannot record the ports: %s", local->message);
            g_propagate_error(error, g_steal_pointer(&local));
            ok = FALSE;
            continue;
        }
        if (results[i] == CN_PORT_NOT_ISOLATED) {
            if (port->metadata) {
                g_set_error(error, HOOK_ERROR, 0, "carthage-net: cannot isolate %s (%s) on metadata network %s: %s",
                            tap, mac, network, local->message);
                ok = FALSE;
                continue;
            }
            hook_log(event, LOG_WARNING, "network %s port %s (%s): %s", network, tap, mac, local->message);
            continue;
        }
        masquerade |= port->masquerade;
        hook_log(event, LOG_INFO, "network %s port %s (%s): isolated%s", network, tap, mac,
                 port->guest->rendered ? "" : " (no addresses of carthage-net's: MAC only)");
        CnEvent *attached = cn_event_new("guest-attached");
        cn_event_add_string(attached, "domain", domain_name);
        cn_event_add_string(attached, "network", network);
        cn_event_add_string(attached, "port", tap);
        cn_event_add_string(attached, "mac", mac);
        cn_event_add_addresses(attached, "ipv4", port->guest->addresses);
        hook_emit(event, attached);
    }
    if (!ok)
        return FALSE;
    emit_resolved(event, domain);
    if (masquerade)
        emit_masquerade(event, domain);
    return TRUE;
}

static gboolean remove_ports(const HookEvent *event, GError **error)
{
    g_autoptr(GPtrArray) ports = NULL;
    g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = cn_ports_detach_domain(event->run_dir, event->name, &ports, report, error);
    for (guint i = 0; i < report->len; i++)
        hook_log(event, LOG_INFO, "%s", (char *)report->pdata[i]);
    for (guint i = 0; ports && i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(port->mac, mac);
        CnEvent *detached = cn_event_new("guest-detached");
        cn_event_add_string(detached, "domain", event->name);
        cn_event_add_string(detached, "network", port->network);
        cn_event_add_string(detached, "port", port->tap);
        cn_event_add_string(detached, "mac", mac);
        hook_emit(event, detached);
    }
    return ok;
}

gboolean hook_qemu_event(const HookEvent *event, GError **error)
{
    if (!event->input->has_domain)
        return TRUE;
    const char *op = event->operation;
    if (strcmp(op, "start") == 0 || strcmp(op, "reconnect") == 0)
        return add_ports(event, error);
    if (strcmp(op, "stopped") == 0) {
        emit_ovn_detached(event);
        return remove_ports(event, error);
    }
    return TRUE; /* prepare, started, release, migrate, restore, attach: nothing */
}

/* hook-network.c - libvirt network events: a carthage-net network's
 * isolation skeleton at start, its pool TAPs back on the new bridge once
 * started, forged MACs refused at port-created, everything removed when
 * it stops.  Networks without carthage-net's <metadata> are left alone. */
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "hook-record.h"
#include "hook.h"
#include "netaddr.h"
#include "pool.h"
#include "state.h"

/* How long a network event waits for define to finish with the record. */
#define HOOK_RECORD_LOCK_MS 10000

/* The record is written under its lock: `carthage-net define` rewrites
 * it while the network runs, and must not undo a start or a stop. */
static int lock_record(const HookEvent *event, GError **error)
{
    return cn_runtime_lock(event->run_dir, HOOK_RECORD_LOCK_MS, error);
}

static gboolean save_record(const HookEvent *event, const HookNetwork *net, GError **error)
{
    CnHookRecord *record = net->record;
    g_free(record->bridge);
    record->bridge = g_strdup(net->iso->bridge);
    record->metadata = net->iso->metadata;
    record->masquerade = net->masquerade;
    record->default_handler = net->iso->default_handler;
    record->ipv6 = net->iso->ipv6;
    record->has_v6_prefix = net->iso->has_v6_prefix;
    record->v6_prefix = net->iso->v6_prefix;
    g_autofree char *name = cn_hook_record_file_name(net->iso->name);
    g_autofree char *text = cn_hook_record_format(record);
    return cn_runtime_write(event->run_dir, name, text, error);
}

static gboolean network_start(const HookEvent *event, const HookNetwork *net, GError **error)
{
    /* The bridge libvirt names may differ from ours if it was edited by
     * hand: libvirt's is the one guests will be on. */
    if (net->bridge && strcmp(net->bridge, net->iso->bridge) != 0) {
        g_free(net->iso->bridge);
        net->iso->bridge = g_strdup(net->bridge);
    }
    int lock = lock_record(event, error);
    if (lock < 0)
        return FALSE;
    gboolean ok = cn_nft_network_apply(net->iso, NULL, error) && save_record(event, net, error);
    close(lock);
    if (!ok)
        return FALSE;
    hook_log(event, LOG_INFO, "isolation applied: %u reserved address(es), %u handler(s)",
             net->iso->reservations->len, net->iso->handlers->len);
    return TRUE;
}

static gboolean network_started(const HookEvent *event, const HookNetwork *net, GError **error)
{
    CnEvent *started = cn_event_new("network-started");
    cn_event_add_string(started, "network", net->iso->name);
    cn_event_add_string(started, "bridge", net->iso->bridge);
    hook_emit(event, started);
    if (net->pools->len == 0)
        return TRUE;
    g_autoptr(GError) local = NULL;
    g_autoptr(CnState) state = cn_state_open(event->state_dir, TRUE, &local);
    for (guint i = 0; state && i < net->pools->len; i++) {
        const HookPool *pool = net->pools->pdata[i];
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        if (!cn_pool_reattach_taps(state, pool->name, net->iso->bridge, net->iso->isolate_guests, net->mtu,
                                   report, &local))
            break;
        for (guint j = 0; j < report->len; j++)
            hook_log(event, LOG_INFO, "pool %s: %s", pool->name, (char *)report->pdata[j]);
    }
    /* Not fatal: the network runs, `carthage-net repair` finishes the job,
     * and guests on pool TAPs are isolated by nftables anyway. */
    if (local)
        hook_log(event, LOG_WARNING, "pool TAPs not re-attached: %s (run carthage-net repair)",
                 local->message);
    return TRUE;
}

/* The running network's record (which define keeps current) with only
 * the guests of MAC: NULL when there is none, it cannot be read, or it is
 * older than version 2 (no guest lines).  Mapped, not read: its pages
 * come from the page cache several at a fault, not copied into as many
 * of ours (it has a line per machine of the network).  Its writers
 * replace it by rename, never in place. */
static CnHookRecord *load_mac_owners(const HookEvent *event, const char *network, const uint8_t mac[6])
{
    g_autofree char *name = cn_hook_record_file_name(network);
    g_autofree char *path = g_build_filename(event->run_dir, name, NULL);
    g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, NULL);
    if (!file)
        return NULL;
    gsize length = g_mapped_file_get_length(file);
    const char *text = length ? g_mapped_file_get_contents(file) : "";
    CnHookRecord *record = cn_hook_record_parse_mac(path, text, length, mac, NULL);
    if (record && record->version < 2)
        g_clear_pointer(&record, cn_hook_record_free);
    return record;
}

/* A port whose MAC the definitions reserve for another machine does not
 * come up: the guest cannot pass for that machine.  Only a carthage-net
 * network has a record (whose word wins over the XML's: define keeps it
 * current); without one, the XML (what the network started with) is read
 * whole and says whether the network is ours. */
static gboolean port_created(const HookEvent *event, GError **error)
{
    const HookInput *input = event->input;
    if (!input->port.present || !input->port.has_mac)
        return TRUE;
    const char *network = input->has_network ? input->network.name : event->name;
    g_autoptr(CnHookRecord) current = load_mac_owners(event, network, input->port.mac);
    g_autoptr(HookInput) whole = NULL;
    const CnHookRecord *record = current;
    if (!record) {
        if (!input->has_network) {
            whole = hook_input_parse(event->text, event->length, error);
            if (!whole) {
                g_prefix_error(error, "carthage-net: cannot read the network's XML: ");
                return FALSE;
            }
            input = whole;
            network = input->network.name;
        }
        if (!input->has_network || !input->network.ours)
            return TRUE; /* not a carthage-net network */
        record = input->network.record;
    }
    const char *owner = cn_hook_record_mac_owner(record, input->port.mac);
    if (owner && input->port.owner && strcmp(owner, input->port.owner) != 0) {
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(input->port.mac, mac);
        g_set_error(error, HOOK_ERROR, 0,
                    "carthage-net: MAC %s on network %s is reserved for domain %s; domain %s may not "
                    "use it", mac, network, owner, input->port.owner);
        return FALSE;
    }
    return TRUE;
}

static gboolean network_stopped(const HookEvent *event, const HookNetwork *net, GError **error)
{
    int lock = lock_record(event, error);
    if (lock < 0)
        return FALSE;
    g_autofree char *name = cn_hook_record_file_name(net->iso->name);
    gboolean ok = cn_nft_network_remove(net->iso->name, error) && cn_runtime_remove(event->run_dir, name, error);
    close(lock);
    if (!ok)
        return FALSE;
    hook_log(event, LOG_INFO, "isolation removed");
    CnEvent *stopped = cn_event_new("network-stopped");
    cn_event_add_string(stopped, "network", net->iso->name);
    hook_emit(event, stopped);
    return TRUE;
}

gboolean hook_network_event(const HookEvent *event, GError **error)
{
    HookInput *input = event->input;
    const char *op = event->operation;
    /* Its input may be the port alone: it finds out itself whether the
     * network is ours. */
    if (strcmp(op, "port-created") == 0)
        return port_created(event, error);
    if (!input->has_network || !input->network.ours)
        return TRUE; /* not a carthage-net network */
    HookNetwork *net = &input->network;

    if (strcmp(op, "start") == 0)
        return network_start(event, net, error);
    if (strcmp(op, "started") == 0)
        return network_started(event, net, error);
    if (strcmp(op, "stopped") == 0)
        return network_stopped(event, net, error);
    return TRUE; /* port-deleted, updated: nothing to do */
}

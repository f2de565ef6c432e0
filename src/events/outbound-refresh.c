/* outbound-refresh.c - see outbound.h: the side of it that looks at the
 * kernel's routes and the hook's records in the run directory. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "events-notify.h"
#include "hook-record.h"
#include "link.h"
#include "outbound.h"
#include "state.h"

/* Adds PORTS' networks to NETWORKS: name -> non-NULL when libvirt
 * masquerades it, from the network hook's records. */
static void look_up_networks(const char *run_dir, GPtrArray *ports, GHashTable *seen)
{
    for (guint i = 0; i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        if (g_hash_table_contains(seen, port->network))
            continue;
        g_autofree char *name = cn_hook_record_file_name(port->network);
        g_autoptr(CnHookRecord) record = NULL;
        cn_runtime_load_head(run_dir, name, CN_HOOK_RECORD_HEAD_MAX, (CnStateParser)cn_hook_record_parse_network,
                             (gpointer *)&record, NULL);
        g_hash_table_insert(seen, g_strdup(port->network), GINT_TO_POINTER(record && record->masquerade));
    }
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void domain_events(const char *run_dir, const char *domain, GHashTable *networks, const CnOutbound *outbound,
                          GPtrArray *events)
{
    g_autofree char *name = cn_hook_ports_file_name(domain);
    g_autoptr(GPtrArray) ports = NULL;
    /* A record that cannot be read is the hook's to report (status,
     * repair); it just has no events here. */
    if (!cn_runtime_load(run_dir, name, (CnStateParser)cn_hook_ports_parse, (gpointer *)&ports, NULL) || !ports)
        return;
    look_up_networks(run_dir, ports, networks);
    cn_outbound_port_events(events, domain, ports, networks, outbound);
}

static gboolean same_outbound(const char *run_dir, const CnOutbound *current)
{
    g_autofree char *text = NULL;
    gsize length;
    CnOutbound recorded;
    if (!cn_runtime_read(run_dir, CN_OUTBOUND_FILE, &text, &length, NULL) || !text ||
        !cn_outbound_parse(CN_OUTBOUND_FILE, text, length, &recorded, NULL))
        return FALSE;
    return recorded.address == current->address && strcmp(recorded.device, current->device) == 0;
}

/* The domains to announce for: every one the hook recorded, or ONLY. */
static GPtrArray *domains_to_announce(const char *run_dir, const char *only)
{
    GPtrArray *domains = g_ptr_array_new_with_free_func(g_free);
    if (only) {
        g_ptr_array_add(domains, g_strdup(only));
        return domains;
    }
    g_autoptr(GDir) listing = g_dir_open(run_dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));)
        if (g_str_has_prefix(name, "hook-domain-"))
            g_ptr_array_add(domains, g_strdup(name + strlen("hook-domain-")));
    g_ptr_array_sort(domains, compare_names);
    return domains;
}

gboolean cn_outbound_refresh(const CnOutboundPlaces *places, const char *domain, CnOutbound *current,
                             guint *announced, GError **error)
{
    if (announced)
        *announced = 0;
    if (g_mkdir_with_parents(places->run_dir, 0755) < 0) {
        g_set_error(error, CN_STATE_ERROR, CN_STATE_ERROR_IO, "cannot create %s: %s", places->run_dir,
                    g_strerror(errno));
        return FALSE;
    }
    g_autofree char *lock_path = g_build_filename(places->run_dir, CN_OUTBOUND_FILE ".lock", NULL);
    int lock = cn_lock_file(lock_path, places->lock_timeout_ms, error);
    if (lock < 0)
        return FALSE;

    CnOutbound outbound = { 0 };
    gboolean ok = cn_link_outbound_address(&outbound.address, outbound.device, error);
    gboolean changed = ok && !same_outbound(places->run_dir, &outbound);
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify)cn_event_free);
    if (ok && outbound.address && (changed || domain)) {
        g_autoptr(GHashTable) networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) domains = domains_to_announce(places->run_dir, changed ? NULL : domain);
        for (guint i = 0; i < domains->len; i++)
            domain_events(places->run_dir, domains->pdata[i], networks, &outbound, events);
    }
    /* Logged before the record says so: a failure is announced again. */
    ok = ok && cn_events_publish(places->state_dir, places->events_dir, events, error);
    if (ok && changed) {
        g_autofree char *text = cn_outbound_format(&outbound);
        ok = cn_runtime_write(places->run_dir, CN_OUTBOUND_FILE, text, error);
    }
    close(lock); /* releases the lock */
    if (ok && current)
        *current = outbound;
    if (ok && announced)
        *announced = events->len;
    return ok;
}

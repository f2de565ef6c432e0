/* ops-isolation.c - see ops-isolation.h */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hook-record.h"
#include "netaddr.h"
#include "ops-isolation.h"
#include "ops-ports.h"
#include "state.h"

/* How long define and repair wait for a network hook to finish with the
 * record (and the hook for them). */
#define RECORD_LOCK_MS 10000

void cn_isolation_drift_free(CnIsolationDrift *drift)
{
    if (!drift)
        return;
    g_free(drift->what);
    g_free(drift->element);
    g_free(drift->guest);
    g_free(drift);
}

static void add_drift(GPtrArray *drift, char *what)
{
    CnIsolationDrift *item = g_new0(CnIsolationDrift, 1);
    item->what = what;
    g_ptr_array_add(drift, item);
}

/* The recorded ports of NET; PORT_DOMAINS (may be NULL) gets port -> domain. */
static GPtrArray *recorded_guests(const CnNetwork *net, const char *run_dir, GHashTable *port_domains)
{
    GPtrArray *guests = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
    g_autoptr(GDir) listing = g_dir_open(run_dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));) {
        if (!g_str_has_prefix(name, "hook-domain-"))
            continue;
        g_autoptr(GPtrArray) ports = NULL;
        cn_runtime_load(run_dir, name, (CnStateParser)cn_hook_ports_parse, (gpointer *)&ports, NULL);
        for (guint i = 0; ports && i < ports->len; i++) {
            const CnHookPort *port = ports->pdata[i];
            if (strcmp(port->network, net->name) != 0)
                continue;
            CnIsoGuest *guest = cn_iso_guest_new(port->tap, port->mac);
            guest->rendered = port->pinned;
            g_array_append_vals(guest->addresses6, port->addresses6->data, port->addresses6->len);
            /* A port recorded by an older hook, before IPv6 was pinned. */
            if (guest->addresses6->len == 0) {
                const CnLink *link = cn_network_link_with_mac(net, port->mac);
                cn_iso_guest_add_v6(guest, iso, link && link->has_v6_address ? &link->v6_address : NULL);
            }
            g_ptr_array_add(guests, guest);
            if (port_domains)
                g_hash_table_replace(port_domains, g_strdup(port->tap), g_strdup(name + strlen("hook-domain-")));
        }
    }
    return guests;
}

GPtrArray *cn_isolation_recorded_guests(const CnNetwork *net, const char *run_dir)
{
    return recorded_guests(net, run_dir, NULL);
}

/* The network's record as the hook left it; NULL (and no error) when
 * there is none, or (with *BROKEN set) when it cannot be read. */
static CnHookRecord *read_record(const CnNetwork *net, const char *run_dir, char **broken)
{
    g_autofree char *name = cn_hook_record_file_name(net->name);
    g_autoptr(GError) error = NULL;
    CnHookRecord *record = NULL;
    if (!cn_runtime_load(run_dir, name, (CnStateParser)cn_hook_record_parse, (gpointer *)&record, &error))
        *broken = g_strdup(error->message);
    return record;
}

static void link_addresses(const CnLink *link, GArray *out)
{
    if (link->v4_source != CN_V4_NONE && link->v4_address)
        g_array_append_val(out, link->v4_address);
    for (guint i = 0; i < link->v4_secondary->len; i++)
        g_array_append_val(out, g_array_index(link->v4_secondary, CnSecondaryAddress, i).private_address);
}

static gboolean contains_address(GArray *addresses, uint32_t address)
{
    for (guint i = 0; i < addresses->len; i++) {
        if (g_array_index(addresses, uint32_t, i) == address)
            return TRUE;
    }
    return FALSE;
}

static gint compare_u32(gconstpointer a, gconstpointer b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The record the hook must have of NET, as it writes it from the XML
 * carthage-net renders; with the retired addresses: those CURRENT (the
 * running record, may be NULL) reserves or retires that no link of NET
 * has any more. */
static CnHookRecord *expected_record(const CnNetwork *net, const CnHookRecord *current)
{
    CnHookRecord *record = cn_hook_record_new(net->name, net->bridge_name);
    record->metadata = net->metadata;
    record->masquerade = net->forward == CN_FORWARD_NAT;
    if (net->metadata)
        record->default_handler = net->metadata_handler;
    record->ipv6 = net->ipv6;
    record->has_v6_prefix = net->has_v6;
    record->v6_prefix = net->v6_subnet.network;
    g_autoptr(GArray) reserved = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        g_autoptr(GArray) addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        link_addresses(link, addresses);
        g_array_append_vals(reserved, addresses->data, addresses->len);
        CnEndpoint handler = { 0 };
        if (net->metadata && link->machine && link->machine->metadata_handler.set)
            handler = cn_link_metadata_handler(link);
        /* The record names the domain that may use the MAC. */
        cn_hook_record_add_guest(record, link->machine ? cn_machine_domain(link->machine) : link->machine_name,
                                 link->iface, link->mac, addresses, handler);
    }
    if (!current)
        return record;
    g_autoptr(GArray) before = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_vals(before, current->retired->data, current->retired->len);
    for (guint i = 0; i < current->guests->len; i++) {
        const CnHookGuest *guest = current->guests->pdata[i];
        g_array_append_vals(before, guest->addresses->data, guest->addresses->len);
    }
    for (guint i = 0; i < before->len; i++) {
        uint32_t address = g_array_index(before, uint32_t, i);
        if (!contains_address(reserved, address) && !contains_address(record->retired, address))
            g_array_append_val(record->retired, address);
    }
    g_array_sort(record->retired, compare_u32);
    return record;
}

/* The engine's view of NET with RECORD's retired addresses. */
static CnIsoNetwork *iso_network(const CnNetwork *net, const CnHookRecord *record)
{
    CnIsoNetwork *iso = cn_iso_network_from_model(net);
    g_array_append_vals(iso->retired, record->retired->data, record->retired->len);
    return iso;
}

/* Lines of A that B lacks, into OUT as "PREFIX 'LINE'". */
static void lines_missing(const char *a, const char *b, const char *prefix, GPtrArray *out)
{
    g_auto(GStrv) lines_a = g_strsplit(a, "\n", -1);
    g_auto(GStrv) lines_b = g_strsplit(b, "\n", -1);
    for (char **line = lines_a + 1; *line; line++) {
        if (**line && !g_strv_contains((const char *const *)lines_b + 1, *line))
            add_drift(out, g_strdup_printf("%s '%s'", prefix, *line));
    }
}

static char *guest_of(const CnNetwork *net, const CnNftElementDrift *item, GHashTable *port_domains)
{
    const CnLink *link = item->has_mac ? cn_network_link_with_mac(net, item->mac) : NULL;
    if (link)
        return g_strdup_printf("machine %s iface %s", link->machine_name, link->iface);
    const char *domain = item->port[0] ? g_hash_table_lookup(port_domains, item->port) : NULL;
    if (domain)
        return g_strdup_printf("domain %s port %s", domain, item->port);
    if (item->port[0])
        return g_strdup_printf("port %s (recorded for no guest)", item->port);
    if (item->has_mac) {
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(item->mac, mac);
        return g_strdup_printf("MAC %s (no link of the definitions)", mac);
    }
    return NULL;
}

static const char *change_name(CnNftChange change)
{
    return change == CN_NFT_MISSING ? "missing" : change == CN_NFT_EXTRA ? "extra" : "changed";
}

static void element_drift(const CnNetwork *net, const CnNftDrift *nft, GHashTable *port_domains, GPtrArray *out)
{
    for (guint i = 0; i < nft->elements->len; i++) {
        const CnNftElementDrift *item = nft->elements->pdata[i];
        CnIsolationDrift *drift = g_new0(CnIsolationDrift, 1);
        drift->set = item->set;
        drift->element = g_strdup(item->element);
        drift->change = change_name(item->change);
        drift->guest = guest_of(net, item, port_domains);
        g_autofree char *line = cn_nft_element_drift_describe(item);
        drift->what = drift->guest ? g_strdup_printf("%s (%s)", line, drift->guest) : g_steal_pointer(&line);
        g_ptr_array_add(out, drift);
    }
}

/* One network's isolation as it is compared: the record the hook left
 * (CURRENT, or why it cannot be read), the record and engine view the
 * definitions want, and once looked at, the kernel's against them with
 * the recorded guest ports. */
typedef struct {
    char *broken;
    CnHookRecord *current, *wanted;
    CnIsoNetwork *iso;
    GHashTable *port_domains; /* port -> domain, of the recorded ports */
    GPtrArray *guests;        /* CnIsoGuest*: the recorded ports */
    CnNftDrift *nft;
} Look;

static void look_begin(Look *look, const CnNetwork *net, const char *run_dir)
{
    memset(look, 0, sizeof *look);
    look->current = read_record(net, run_dir, &look->broken);
    look->wanted = expected_record(net, look->current);
    look->port_domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/* Element drift is read again before it is believed (READ_AGAIN: status
 * and repair; a live define expects drift, its change, and converges
 * anyway), and an interrupted dump read again in any case, up to
 * DRIFT_READS reads, READ_AGAIN_MS apart; when the last is interrupted,
 * the one before it stands.  A dump of a set
 * that a batch has just grown or shrunk by thousands can overlap the
 * kernel's deferred resize of the set's hash table: the dump comes in
 * parts, each resuming after a count of elements, so some show twice and
 * others not at all (bench-isolation once read 3,249 distinct elements of
 * 4,000); a dump the kernel marks interrupted (a change meanwhile) fails
 * with EINTR; and a hook adding a guest meanwhile is seen half done. */
#define DRIFT_READS 3
#define READ_AGAIN_MS 50

/* The kernel first, then the records: the hook records a port before it
 * adds its elements, so none is taken for one nobody knows. */
static gboolean look_at_kernel(Look *look, const CnNetwork *net, const char *run_dir, gboolean network_wide_only,
                               gboolean read_again, GError **error)
{
    look->iso = iso_network(net, look->wanted);
    for (int attempt = 1;; attempt++) {
        gboolean last = attempt == DRIFT_READS;
        g_autoptr(GError) local = NULL;
        g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_read(net->name, &local);
        if (!kernel && (last || !g_error_matches(local, CN_NFT_ERROR, EINTR))) {
            if (look->nft) /* an earlier read's drift: what is known */
                return TRUE;
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        if (kernel) {
            g_clear_pointer(&look->guests, g_ptr_array_unref);
            g_clear_pointer(&look->nft, cn_nft_drift_free);
            g_hash_table_remove_all(look->port_domains);
            look->guests = recorded_guests(net, run_dir, look->port_domains);
            look->nft = cn_nft_snapshot_compare(kernel, look->iso, look->guests, network_wide_only);
            if (look->nft->elements->len == 0 || !read_again || last)
                return TRUE;
        }
        g_usleep(READ_AGAIN_MS * 1000);
    }
}

static void look_clear(Look *look)
{
    g_free(look->broken);
    cn_hook_record_free(look->current);
    cn_hook_record_free(look->wanted);
    cn_iso_network_free(look->iso);
    g_hash_table_unref(look->port_domains);
    if (look->guests)
        g_ptr_array_unref(look->guests);
    cn_nft_drift_free(look->nft);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Look, look_clear)

gboolean cn_isolation_drift(const CnNetwork *net, const char *run_dir, GPtrArray *drift, GError **error)
{
    g_auto(Look) look;
    look_begin(&look, net, run_dir);
    if (!look_at_kernel(&look, net, run_dir, FALSE, TRUE, error))
        return FALSE;
    const CnNftDrift *nft = look.nft;
    const CnHookRecord *current = look.current, *wanted = look.wanted;

    if (!nft->bridge_table)
        add_drift(drift, g_strdup("no carthage-net nftables tables (the hook was not installed when the network "
                                  "started, or they were flushed)"));
    else
        for (guint i = 0; i < nft->tables->len; i++)
            add_drift(drift, g_strdup(nft->tables->pdata[i]));
    if (look.broken)
        add_drift(drift, g_strdup_printf("the hook's record of the network cannot be read: %s", look.broken));
    else if (!current)
        add_drift(drift, g_strdup("no hook record of the network (the qemu hook refuses its metadata guests)"));
    else {
        g_autofree char *have = cn_hook_record_format(current);
        g_autofree char *want = cn_hook_record_format(wanted);
        if (strcmp(have, want) != 0) {
            lines_missing(want, have, "the hook's record of the network lacks", drift);
            lines_missing(have, want, "the hook's record of the network has, the definitions do not:", drift);
            if (current->version != wanted->version)
                add_drift(drift, g_strdup_printf("the hook's record of the network is version %d (written by an "
                                                 "older hook)", current->version));
        }
    }
    element_drift(net, nft, look.port_domains, drift);
    return TRUE;
}

/* The network hook takes the same lock for its start and stop.  Then the
 * domains' records' lock (ops-ports.h): what is brought in step with them
 * is what they say, not what a start that took a tap over has just
 * changed. */
typedef struct {
    int record;
    int ports;
} Locks;

static gboolean lock_records(const char *run_dir, Locks *locks, GError **error)
{
    locks->record = cn_runtime_lock(run_dir, RECORD_LOCK_MS, error);
    if (locks->record < 0)
        return FALSE;
    locks->ports = cn_ports_lock(run_dir, error);
    if (locks->ports >= 0)
        return TRUE;
    close(locks->record);
    return FALSE;
}

static void unlock_records(Locks *locks)
{
    close(locks->ports);
    close(locks->record);
}

static gboolean write_record(const CnNetwork *net, const char *run_dir, const CnHookRecord *record, GError **error)
{
    g_autofree char *name = cn_hook_record_file_name(net->name);
    g_autofree char *text = cn_hook_record_format(record);
    return cn_runtime_write(run_dir, name, text, error);
}

static gboolean record_differs(const CnHookRecord *current, const CnHookRecord *wanted)
{
    if (!current)
        return TRUE;
    g_autofree char *have = cn_hook_record_format(current);
    g_autofree char *want = cn_hook_record_format(wanted);
    return strcmp(have, want) != 0;
}

static void report_elements(const CnNetwork *net, const CnNftDrift *nft, GHashTable *port_domains,
                            const char *verb, GPtrArray *report)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func((GDestroyNotify)cn_isolation_drift_free);
    element_drift(net, nft, port_domains, lines);
    for (guint i = 0; i < lines->len; i++)
        g_ptr_array_add(report, g_strdup_printf("isolation: %s%s", verb, ((CnIsolationDrift *)lines->pdata[i])->what));
}

gboolean cn_isolation_repair(const CnNetwork *net, const char *run_dir, GPtrArray *report, GError **error)
{
    Locks locks;
    if (!lock_records(run_dir, &locks, error))
        return FALSE;
    g_auto(Look) look;
    look_begin(&look, net, run_dir);
    gboolean ok = look_at_kernel(&look, net, run_dir, FALSE, TRUE, error);
    const CnNftDrift *nft = look.nft;
    CnIsoNetwork *iso = look.iso;
    GPtrArray *guests = look.guests;
    if (ok && nft->tables->len > 0) {
        for (guint i = 0; i < nft->tables->len; i++)
            g_ptr_array_add(report, g_strdup_printf("isolation: %s", (char *)nft->tables->pdata[i]));
        /* One batch replaces the tables: the guests go from the old rules
         * to the new without a moment between. */
        ok = cn_nft_network_apply(iso, guests, error);
        if (ok)
            g_ptr_array_add(report, g_strdup_printf("isolation applied (%u recorded guest port(s))", guests->len));
    } else if (ok && nft->elements->len > 0) {
        report_elements(net, nft, look.port_domains, "", report);
        ok = cn_nft_converge(iso, nft, error);
        if (ok)
            g_ptr_array_add(report, g_strdup_printf("isolation: %u element(s) brought in step, in one batch",
                                                    nft->elements->len));
    }
    if (ok && record_differs(look.current, look.wanted)) {
        ok = write_record(net, run_dir, look.wanted, error);
        if (ok)
            g_ptr_array_add(report, g_strdup(look.current ? "the hook's record of the network rewritten"
                                                          : "the hook's record of the network written"));
    }
    unlock_records(&locks);
    return ok;
}

gboolean cn_isolation_sync_live(const CnNetwork *net, const char *run_dir, gboolean rules_may_change,
                                gboolean dry_run, GPtrArray *report, GError **error)
{
    Locks locks;
    if (!lock_records(run_dir, &locks, error))
        return FALSE;
    g_auto(Look) look;
    look_begin(&look, net, run_dir);
    const CnHookRecord *current = look.current;
    CnHookRecord *wanted = look.wanted;
    if (!current || current->version < 2) {
        /* No record (the hook is not installed), or tables an older hook
         * made: status says so, and repair rebuilds them. */
        unlock_records(&locks);
        return TRUE;
    }
    if (!rules_may_change) {
        /* Until libvirt restarts the network, the hook works with the
         * settings its tables were built with. */
        g_free(wanted->bridge);
        wanted->bridge = g_strdup(current->bridge);
        wanted->metadata = current->metadata;
        wanted->masquerade = current->masquerade;
        wanted->default_handler = current->default_handler;
        wanted->ipv6 = current->ipv6;
        wanted->has_v6_prefix = current->has_v6_prefix;
        wanted->v6_prefix = current->v6_prefix;
    }
    if (!record_differs(current, wanted)) {
        /* The definitions did not change what the network has: anything
         * else out of step is for status to say and repair to mend. */
        unlock_records(&locks);
        return TRUE;
    }
    const char *would = dry_run ? "would " : "";
    gboolean ok = look_at_kernel(&look, net, run_dir, TRUE, FALSE, error);
    const CnNftDrift *nft = look.nft;
    gboolean tables_exist = ok && nft->bridge_table;
    if (ok && tables_exist && rules_may_change && nft->tables->len > 0) {
        g_ptr_array_add(report, g_strdup_printf("%sapply the isolation again live, for the new settings (%u recorded "
                                                "guest port(s), one batch)", would, look.guests->len));
        if (!dry_run)
            ok = cn_nft_network_apply(look.iso, look.guests, error);
    } else if (ok && tables_exist && nft->elements->len > 0) {
        report_elements(net, nft, look.port_domains, dry_run ? "would change " : "", report);
        if (!dry_run)
            ok = cn_nft_converge(look.iso, nft, error);
    }
    if (ok) {
        g_ptr_array_add(report, g_strdup_printf("%supdate the hook's record of the network live", would));
        if (!dry_run)
            ok = write_record(net, run_dir, wanted, error);
    }
    unlock_records(&locks);
    return ok;
}

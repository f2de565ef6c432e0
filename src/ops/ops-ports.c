/* ops-ports.c - see ops-ports.h */
#include <errno.h>
#include <linux/netfilter.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "ops-ports.h"
#include "state.h"

#define PORTS_FILE_PREFIX "hook-domain-"

int cn_ports_lock(const char *run_dir, GError **error)
{
    g_autofree char *path = g_build_filename(run_dir, CN_PORTS_LOCK_FILE, NULL);
    g_autoptr(GError) local = NULL;
    int fd = cn_lock_file(path, CN_PORTS_LOCK_MS, &local);
    if (fd >= 0)
        return fd;
    if (!g_error_matches(local, CN_STATE_ERROR, CN_STATE_ERROR_IO)) {
        g_propagate_error(error, g_steal_pointer(&local)); /* held too long by another */
        return -1;
    }
    /* No run directory yet (the first port since boot): one mkdir then,
     * rather than one on every call. */
    if (cn_make_dir(run_dir, 0755) < 0 && errno != EEXIST) {
        g_propagate_error(error, g_steal_pointer(&local));
        return -1;
    }
    return cn_lock_file(path, CN_PORTS_LOCK_MS, error);
}

void cn_port_taken_over_free(CnPortTakenOver *taken)
{
    g_free(taken->domain);
    cn_hook_port_free(taken->port);
    g_free(taken);
}

/* PORT's elements as cn_nft_guests_remove takes them: GUESTS[i] on
 * NETS[i]. */
static void add_removal(GPtrArray *nets, GPtrArray *guests, const CnHookPort *port)
{
    CnIsoGuest *guest = cn_iso_guest_new(port->tap, port->mac);
    g_array_append_vals(guest->addresses6, port->addresses6->data, port->addresses6->len);
    g_ptr_array_add(nets, cn_iso_network_new(port->network, ""));
    g_ptr_array_add(guests, guest);
}

gboolean cn_ports_load(const char *run_dir, const char *domain, GPtrArray **ports, GError **error)
{
    g_autofree char *name = cn_hook_ports_file_name(domain);
    *ports = NULL;
    if (!cn_runtime_load(run_dir, name, (CnStateParser)cn_hook_ports_parse, (gpointer *)ports, error))
        return FALSE;
    if (!*ports)
        *ports = cn_hook_ports_new();
    return TRUE;
}

gboolean cn_ports_save(const char *run_dir, const char *domain, GPtrArray *ports, GError **error)
{
    g_autofree char *name = cn_hook_ports_file_name(domain);
    if (ports->len == 0)
        return cn_runtime_remove(run_dir, name, error);
    g_autofree char *text = cn_hook_ports_format(ports);
    return cn_runtime_write(run_dir, name, text, error);
}

/* TAKEN's items into TAKEN_OVER (the caller's; freed when NULL). */
static void hand_over(GPtrArray *taken, GPtrArray *taken_over)
{
    while (taken->len > 0) {
        gpointer item = g_ptr_array_steal_index(taken, 0);
        if (taken_over)
            g_ptr_array_add(taken_over, item);
        else
            cn_port_taken_over_free(item);
    }
}

/* Whether ATTACHES (CnPortAttach*) has a port on PORT's tap, on any
 * network: a tap is on one bridge at a time, and an old port's elements
 * on another network would judge the new guest's frames there. */
static gboolean attaches_tap(GPtrArray *attaches, const CnHookPort *port)
{
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        if (strcmp(attach->guest->tap, port->tap) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Calls VISIT with each record of ports in RUN_DIR but DOMAIN's (the
 * other domain's name, its ports).  Reads every record: only for the rare
 * paths (a claim refused, a previous run's record). */
typedef void (*OtherRecordFunc)(const char *run_dir, const char *other, GPtrArray *ports, gpointer data);

static void each_other_record(const char *run_dir, const char *domain, OtherRecordFunc visit, gpointer data)
{
    g_autofree char *own = cn_hook_ports_file_name(domain);
    g_autoptr(GDir) listing = g_dir_open(run_dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));) {
        if (!g_str_has_prefix(name, PORTS_FILE_PREFIX) || strcmp(name, own) == 0)
            continue;
        const char *other = name + strlen(PORTS_FILE_PREFIX);
        g_autoptr(GPtrArray) ports = NULL;
        if (cn_ports_load(run_dir, other, &ports, NULL))
            visit(run_dir, other, ports, data);
    }
}

typedef struct {
    GPtrArray *attaches;
    GPtrArray *taken;
} TakeFromRecord;

/* each_other_record: OTHER's ports on the taps being attached leave its
 * record (written back first: a port whose record cannot be written back
 * stays OTHER's) for TAKEN. */
static void take_from_record(const char *run_dir, const char *other, GPtrArray *ports, gpointer data)
{
    TakeFromRecord *take = data;
    guint first = take->taken->len;
    for (guint i = ports->len; i-- > 0;) {
        if (!attaches_tap(take->attaches, ports->pdata[i]))
            continue;
        CnPortTakenOver *item = g_new0(CnPortTakenOver, 1);
        item->domain = g_strdup(other);
        item->port = g_ptr_array_steal_index(ports, i);
        g_ptr_array_add(take->taken, item);
    }
    if (take->taken->len > first && !cn_ports_save(run_dir, other, ports, NULL))
        g_ptr_array_remove_range(take->taken, first, take->taken->len - first);
}

/* The ports of other domains' records on the taps of ATTACHES, taken out
 * of those records into TAKEN (CnPortTakenOver*): only when the kernel
 * said a tap is in use already. */
static void take_from_records(const char *run_dir, const char *domain, GPtrArray *attaches, GPtrArray *taken)
{
    TakeFromRecord take = { attaches, taken };
    each_other_record(run_dir, domain, take_from_record, &take);
}

/* each_other_record: OTHER's taps into DATA (a set of names). */
static void collect_taps(const char *run_dir, const char *other, GPtrArray *ports, gpointer data)
{
    (void)run_dir;
    (void)other;
    for (guint i = 0; i < ports->len; i++)
        g_hash_table_add(data, g_strdup(((CnHookPort *)ports->pdata[i])->tap));
}

/* The elements of PORTS (CnHookPort*) removed: together, or when the
 * kernel refuses that (a network stopped meanwhile took its tables, and
 * their elements, with it) port by port.  REPORT (may be NULL): a line
 * per port. */
static void remove_elements(GPtrArray *ports, GPtrArray *report)
{
    g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_network_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    for (guint i = 0; i < ports->len; i++)
        add_removal(nets, guests, ports->pdata[i]);
    gboolean together = guests->len > 0 && cn_nft_guests_remove(nets, guests, NULL);
    for (guint i = 0; i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        g_autoptr(GError) local = NULL;
        gboolean released = together || cn_nft_guest_remove(nets->pdata[i], guests->pdata[i], &local);
        if (!report)
            continue;
        if (released)
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: released", port->network, port->tap));
        else
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: %s", port->network, port->tap, local->message));
    }
}

/* The ports of TAKEN (CnPortTakenOver*), as a list of CnHookPort*
 * (borrowed: TAKEN keeps them). */
static GPtrArray *taken_ports(GPtrArray *taken)
{
    GPtrArray *ports = g_ptr_array_new();
    for (guint i = 0; i < taken->len; i++)
        g_ptr_array_add(ports, ((CnPortTakenOver *)taken->pdata[i])->port);
    return ports;
}

/* What set port_mac allows on the taps of ATTACHES but their own MACs,
 * with set port_ip6's addresses for those taps, read from the kernel:
 * elements no record names (written by hand with `isolation attach`, or
 * left by a process killed between record and batch).  Into TAKEN, as
 * ports of no domain.  Only after a claim found no record naming a tap. */
static void take_unrecorded(GPtrArray *attaches, GPtrArray *taken)
{
    g_autoptr(GHashTable) networks = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < attaches->len; i++)
        g_hash_table_add(networks, (gpointer)((const CnPortAttach *)attaches->pdata[i])->network);
    GHashTableIter iter;
    gpointer network;
    g_hash_table_iter_init(&iter, networks);
    while (g_hash_table_iter_next(&iter, &network, NULL)) {
        g_autoptr(GArray) macs = NULL;
        g_autoptr(GArray) addresses6 = NULL;
        gboolean exists = FALSE;
        if (!cn_nft_set_elements(network, NFPROTO_BRIDGE, "port_mac", &macs, &exists, NULL) || !exists ||
            !cn_nft_set_elements(network, NFPROTO_BRIDGE, "port_ip6", &addresses6, &exists, NULL))
            continue;
        g_autoptr(GPtrArray) found = cn_hook_ports_new();
        for (guint i = 0; i < attaches->len; i++) {
            const CnPortAttach *attach = attaches->pdata[i];
            if (strcmp(attach->network, network) != 0)
                continue;
            char tap[IFNAMSIZ] = { 0 };
            memcpy(tap, attach->guest->tap, MIN(strlen(attach->guest->tap), sizeof tap - 1));
            g_autoptr(GArray) tap_addresses6 = g_array_new(FALSE, FALSE, sizeof(CnV6Address));
            for (guint j = 0; addresses6 && j < addresses6->len; j++) {
                const CnNftElement *element = &g_array_index(addresses6, CnNftElement, j);
                if (element->key_len >= sizeof tap + 16 && memcmp(element->key, tap, sizeof tap) == 0) {
                    CnV6Address address;
                    memcpy(address.bytes, element->key + sizeof tap, 16);
                    g_array_append_val(tap_addresses6, address);
                }
            }
            for (guint j = 0; j < macs->len; j++) {
                const CnNftElement *element = &g_array_index(macs, CnNftElement, j);
                if (element->key_len < sizeof tap + 6 || memcmp(element->key, tap, sizeof tap) != 0 ||
                    memcmp(element->key + sizeof tap, attach->guest->mac, 6) == 0)
                    continue;
                cn_hook_ports_add(found, network, attach->guest->tap, element->key + sizeof tap, FALSE, NULL,
                                  tap_addresses6);
                g_array_set_size(tap_addresses6, 0); /* once per tap */
            }
        }
        while (found->len > 0) {
            CnPortTakenOver *item = g_new0(CnPortTakenOver, 1);
            item->port = g_ptr_array_steal_index(found, 0);
            g_ptr_array_add(taken, item);
        }
    }
}

/* The domain's own record at a start (of its previous run, whose
 * "stopped" never ran) into TAKEN, but for ports on taps that another
 * domain's record names now (a network restarted in between, so that the
 * tap came to that domain with no claim refused): those are the other's. */
static void take_previous(const char *run_dir, const char *domain, GPtrArray *attaches, GPtrArray *taken)
{
    g_autoptr(GPtrArray) previous = NULL;
    if (!cn_ports_load(run_dir, domain, &previous, NULL) || previous->len == 0)
        return;
    /* Taps of the previous run that this one does not use: named by
     * another record? */
    g_autoptr(GHashTable) elsewhere = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gboolean unused = FALSE;
    for (guint i = 0; i < previous->len && !unused; i++)
        unused = !attaches_tap(attaches, previous->pdata[i]);
    if (unused)
        each_other_record(run_dir, domain, collect_taps, elsewhere);
    while (previous->len > 0) {
        CnHookPort *port = g_ptr_array_steal_index(previous, 0);
        if (!attaches_tap(attaches, port) && g_hash_table_contains(elsewhere, port->tap)) {
            cn_hook_port_free(port);
            continue;
        }
        CnPortTakenOver *item = g_new0(CnPortTakenOver, 1);
        item->domain = g_strdup(domain);
        item->port = port;
        g_ptr_array_add(taken, item);
    }
}

/* TAKEN's ports (CnPortTakenOver*) replaced by GUESTS on NETS in one batch
 * (CLAIM: cn_nft_guests_replace's). */
static gboolean replace_taken(GPtrArray *taken, GPtrArray *nets, GPtrArray *guests, gboolean claim, GError **error)
{
    g_autoptr(GPtrArray) old_nets = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_network_free);
    g_autoptr(GPtrArray) old_guests = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    for (guint i = 0; i < taken->len; i++)
        add_removal(old_nets, old_guests, ((CnPortTakenOver *)taken->pdata[i])->port);
    return cn_nft_guests_replace(old_nets, old_guests, nets, guests, claim, error);
}

/* The ports of ATTACHES recorded in PORTS (DOMAIN's record, saved), then
 * their elements added; TAKEN (CnPortTakenOver*): the ports whose elements
 * go in the same batch, the domain's own previous ones to begin with
 * (emptied when nothing was done).  CLAIM: when the kernel refuses a tap
 * already in its set, the other domains' records that name it join TAKEN,
 * or, when none does, the elements on it no record names. */
static void attach_locked(const char *run_dir, const char *domain, GPtrArray *ports, GPtrArray *attaches,
                          gboolean claim, GPtrArray *taken, CnPortResult *results, GError **errors)
{
    guint first = ports->len;
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        const CnIsoGuest *guest = attach->guest;
        cn_hook_ports_add(ports, attach->network, guest->tap, guest->mac, guest->rendered, guest->addresses,
                          guest->addresses6);
    }
    g_autoptr(GError) local = NULL;
    if (!cn_ports_save(run_dir, domain, ports, &local)) {
        g_ptr_array_remove_range(ports, first, ports->len - first);
        for (guint i = 0; i < attaches->len; i++) {
            results[i] = CN_PORT_NOT_RECORDED;
            errors[i] = g_error_copy(local);
        }
        g_ptr_array_set_size(taken, 0); /* nothing was done */
        return;
    }
    /* All in one batch; when the kernel refuses it (which changes
     * nothing), port by port, to tell which one and why. */
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        g_ptr_array_add(nets, (gpointer)attach->net);
        g_ptr_array_add(guests, (gpointer)attach->guest);
        results[i] = CN_PORT_ATTACHED;
        errors[i] = NULL;
    }
    if (claim) {
        g_autoptr(GError) claim_error = NULL;
        if (replace_taken(taken, nets, guests, TRUE, &claim_error))
            return;
        if (!g_error_matches(claim_error, CN_NFT_ERROR, CN_NFT_ERROR_CLAIMED) && taken->len > 0) {
            /* Perhaps what was refused is the previous run's (a network
             * of its gone): that goes on its own, and the claim is tried
             * again without it. */
            g_autoptr(GPtrArray) previous = taken_ports(taken);
            remove_elements(previous, NULL);
            g_clear_error(&claim_error);
            if (cn_nft_guests_replace(NULL, NULL, nets, guests, TRUE, &claim_error))
                return;
        }
        /* A tap in its set `ports` already: whose?  (Any other refusal,
         * a handler's value changed say, is for the batches below.) */
        if (g_error_matches(claim_error, CN_NFT_ERROR, CN_NFT_ERROR_CLAIMED)) {
            guint known = taken->len;
            take_from_records(run_dir, domain, attaches, taken);
            if (taken->len == known)
                take_unrecorded(attaches, taken);
            if (replace_taken(taken, nets, guests, FALSE, NULL))
                return;
        }
        /* What goes, on its own; then ours, as without a claim. */
        g_autoptr(GPtrArray) going = taken_ports(taken);
        remove_elements(going, NULL);
    }
    if (cn_nft_guests_add(nets, guests, NULL))
        return;
    gboolean refused = FALSE;
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        if (cn_nft_guest_add(attach->net, attach->guest, &errors[i]))
            continue;
        results[i] = CN_PORT_NOT_ISOLATED;
        refused = TRUE;
    }
    if (!refused)
        return;
    /* Not isolated: not recorded either (the record is what stopped and
     * repair act on).  Taken out from the last, so indexes hold. */
    for (guint i = attaches->len; i-- > 0;) {
        if (results[i] == CN_PORT_NOT_ISOLATED)
            g_ptr_array_remove_index(ports, first + i);
    }
    g_clear_error(&local);
    if (!cn_ports_save(run_dir, domain, ports, &local)) {
        for (guint i = 0; i < attaches->len; i++) {
            if (results[i] == CN_PORT_NOT_ISOLATED)
                g_prefix_error(&errors[i], "(and the record could not be written back: %s) ", local->message);
        }
    }
}

static gboolean detach_locked(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                              GError **error)
{
    if (!cn_ports_load(run_dir, domain, detached, error))
        return FALSE;
    remove_elements(*detached, report);
    g_autofree char *name = cn_hook_ports_file_name(domain);
    return cn_runtime_remove(run_dir, name, error);
}

void cn_ports_attach_many(const char *run_dir, const char *domain, GPtrArray *ports, GPtrArray *attaches,
                          gboolean claim, CnPortResult *results, GError **errors, GPtrArray *taken_over)
{
    if (attaches->len == 0 && !claim)
        return; /* nothing to record, nor a record to drop */
    g_autoptr(GError) local = NULL;
    int lock = cn_ports_lock(run_dir, &local);
    if (lock < 0) {
        for (guint i = 0; i < attaches->len; i++) {
            results[i] = CN_PORT_NOT_RECORDED;
            errors[i] = g_error_copy(local);
        }
        return;
    }
    /* At a start, the domain's own record, if it has one, is of its
     * previous run, whose "stopped" never ran: its ports go now. */
    g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func((GDestroyNotify)cn_port_taken_over_free);
    if (claim)
        take_previous(run_dir, domain, attaches, taken);
    if (attaches->len > 0) {
        attach_locked(run_dir, domain, ports, attaches, claim, taken, results, errors);
    } else {
        /* No port to isolate now: the previous run's go, and its record. */
        g_autoptr(GPtrArray) going = taken_ports(taken);
        remove_elements(going, NULL);
        g_autofree char *name = cn_hook_ports_file_name(domain);
        if (!cn_runtime_remove(run_dir, name, NULL))
            g_ptr_array_set_size(taken, 0);
    }
    close(lock);
    hand_over(taken, taken_over);
}

CnPortResult cn_ports_attach(const char *run_dir, const char *domain, const char *network, const CnIsoNetwork *net,
                             const CnIsoGuest *guest, GPtrArray *taken_over, GError **error)
{
    int lock = cn_ports_lock(run_dir, error);
    if (lock < 0)
        return CN_PORT_NOT_RECORDED;
    g_autoptr(GPtrArray) ports = NULL;
    if (!cn_ports_load(run_dir, domain, &ports, error)) {
        close(lock);
        return CN_PORT_NOT_RECORDED;
    }
    CnPortAttach attach = { network, net, guest };
    g_autoptr(GPtrArray) attaches = g_ptr_array_new();
    g_ptr_array_add(attaches, &attach);
    CnPortResult result = CN_PORT_ATTACHED;
    GError *failure = NULL;
    g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func((GDestroyNotify)cn_port_taken_over_free);
    attach_locked(run_dir, domain, ports, attaches, TRUE, taken, &result, &failure);
    close(lock);
    hand_over(taken, taken_over);
    if (failure)
        g_propagate_error(error, failure);
    return result;
}

gboolean cn_ports_detach_domain(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                                GError **error)
{
    *detached = NULL;
    int lock = cn_ports_lock(run_dir, error);
    if (lock < 0)
        return FALSE;
    gboolean ok = detach_locked(run_dir, domain, detached, report, error);
    close(lock);
    return ok;
}

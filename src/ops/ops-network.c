/* ops-network.c - see ops-network.h */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "link.h"
#include "netxml-diff.h"
#include "ops-isolation.h"
#include "ops-network.h"
#include "ops-ports.h"
#include "paths.h"
#include "render.h"

static void say(GPtrArray *report, const CnDefineOptions *options, const char *network, const char *format, ...)
    G_GNUC_PRINTF(4, 5);
static void say(GPtrArray *report, const CnDefineOptions *options, const char *network, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    g_ptr_array_add(report, g_strdup_printf("network %s: %s%s", network, options && options->dry_run ? "would " : "",
                                            text));
}

/* The error, about NETWORK. */
static gboolean fail_with(GError **error, const char *network)
{
    g_prefix_error(error, "network %s: ", network);
    return FALSE;
}

CnOwnedBridges *cn_ops_read_owned_bridges(CnState *state, GError **error)
{
    CnOwnedBridges *owned = NULL;
    if (!cn_state_load(state, CN_OWNED_BRIDGES_FILE, (CnStateParser)cn_owned_bridges_parse, (gpointer *)&owned, error))
        return NULL;
    return owned ? owned : cn_owned_bridges_new();
}

static gboolean write_owned_bridges(CnState *state, const CnOwnedBridges *owned, GError **error)
{
    g_autofree char *text = cn_owned_bridges_format(owned);
    return cn_state_write(state, CN_OWNED_BRIDGES_FILE, text, strlen(text), error);
}

/* Carthage's BridgeNetwork: a missing Linux bridge is made, and recorded as
 * ours before anything else can fail. */
static gboolean ensure_host_bridge(const CnNetwork *net, const CnDefineOptions *options, const char *state_dir,
                                   GPtrArray *report, GError **error)
{
    gboolean exists;
    if (!cn_link_exists(net->bridge_name, &exists, error))
        return FALSE;
    if (exists)
        return TRUE;
    say(report, options, net->name, "create bridge %s", net->bridge_name);
    if (options->dry_run)
        return TRUE;
    /* The lock only around our own file: libvirt runs our hook, which
     * takes it too, while we call libvirt. */
    g_autoptr(CnState) state = cn_state_open(state_dir, TRUE, error);
    if (!state)
        return FALSE;
    g_autoptr(CnOwnedBridges) owned = cn_ops_read_owned_bridges(state, error);
    if (!owned)
        return FALSE;
    g_hash_table_replace(owned->networks, g_strdup(net->bridge_name), g_strdup(net->name));
    if (!write_owned_bridges(state, owned, error))
        return FALSE;
    gboolean created;
    if (!cn_link_bridge_ensure(net->bridge_name, net->mtu, &created, error))
        return fail_with(error, net->name);
    return TRUE;
}

/* Keeps what libvirt chose for an existing network (UUID, bridge MAC), so
 * that redefining changes only what the definitions say. */
static void keep_libvirt_identity(xmlDocPtr wanted, const CnVirtNetwork *current)
{
    xmlNodePtr root = xmlDocGetRootElement(wanted);
    xmlNodePtr uuid = xmlNewDocNode(wanted, NULL, (const xmlChar *)"uuid", NULL);
    cn_xml_set_text(uuid, current->uuid);
    xmlAddNextSibling(cn_xml_child(root, "name"), uuid);

    xmlNodePtr old_mac = current->config ? cn_xml_child(xmlDocGetRootElement(current->config), "mac") : NULL;
    if (old_mac && !cn_xml_child(root, "mac"))
        xmlAddChild(root, xmlDocCopyNode(old_mac, wanted, 1));
}

/* A running network: reservations and DNS records live, the hook's record
 * and the kernel's elements after them, and what needs a restart named. */
static gboolean update_live(CnVirt *virt, const CnNetwork *net, const CnVirtNetwork *current, xmlDocPtr wanted,
                            const CnDefineOptions *options, GPtrArray *report, GError **error)
{
    g_autoptr(CnNetDiff) live_diff = cn_net_diff(current->live, wanted);
    for (guint i = 0; i < live_diff->updates->len; i++) {
        const CnNetUpdate *update = live_diff->updates->pdata[i];
        say(report, options, net->name, "%s %s live", update->command == CN_NET_UPDATE_ADD ? "add" : "delete",
            update->description);
        if (!options->dry_run && !cn_virt_network_update_live(virt, net->name, update, error))
            return fail_with(error, net->name);
    }
    /* What the hook works from, and the kernel's elements, follow the
     * definitions now: machines added, changed or removed. */
    gboolean restart = live_diff->restart_reasons->len > 0;
    if (cn_network_has_isolation(net)) {
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        gboolean ok = cn_isolation_sync_live(net, cn_paths_run_dir(), !restart, options->dry_run, lines, error);
        for (guint i = 0; i < lines->len; i++)
            g_ptr_array_add(report, g_strdup_printf("network %s: %s", net->name, (char *)lines->pdata[i]));
        if (!ok)
            return fail_with(error, net->name);
    }
    if (restart) {
        g_ptr_array_add(live_diff->restart_reasons, NULL);
        g_autofree char *reasons = g_strjoinv(", ", (char **)live_diff->restart_reasons->pdata);
        g_ptr_array_add(report, g_strdup_printf("network %s: needs a restart to apply: %s (virsh net-destroy %s; virsh "
                                                "net-start %s)", net->name, reasons, net->name, net->name));
    }
    return TRUE;
}

gboolean cn_ops_define_network(CnVirt *virt, const CnNetwork *net, xmlDocPtr template, const CnDefineOptions *options,
                               const char *state_dir, GPtrArray *report, GError **error)
{
    g_auto(CnVirtNetwork) current = { 0 };

    if (cn_network_uses_host_bridge(net) && !ensure_host_bridge(net, options, state_dir, report, error))
        return FALSE;
    if (!cn_virt_network_get(virt, net->name, &current, error))
        return fail_with(error, net->name);

    g_autoptr(xmlDoc) wanted = cn_render_network(net, template);
    gboolean active = current.active;
    if (!current.exists) {
        say(report, options, net->name, "define");
        if (!options->dry_run && !cn_virt_network_define(virt, wanted, error))
            return fail_with(error, net->name);
    } else {
        g_autoptr(CnNetDiff) config_diff = cn_net_diff(current.config ? current.config : current.live, wanted);
        if (cn_net_diff_is_empty(config_diff)) {
            say(report, options, net->name, "%s", options->dry_run ? "stay unchanged" : "unchanged");
        } else {
            keep_libvirt_identity(wanted, &current);
            say(report, options, net->name, "update the persistent definition (same UUID)");
            if (!options->dry_run && !cn_virt_network_define(virt, wanted, error))
                return fail_with(error, net->name);
        }
        if (active && !update_live(virt, net, &current, wanted, options, report, error))
            return FALSE;
    }
    if (options->start && !active) {
        say(report, options, net->name, "start");
        if (!options->dry_run && !cn_virt_network_start(virt, net->name, error))
            return fail_with(error, net->name);
    }
    if (options->autostart && !current.autostart) {
        say(report, options, net->name, "set autostart");
        if (!options->dry_run && !cn_virt_network_set_autostart(virt, net->name, TRUE, error))
            return fail_with(error, net->name);
    }
    return TRUE;
}

static gboolean delete_owned_bridge(const char *network, const char *bridge, const char *state_dir,
                                    GPtrArray *report, GError **error)
{
    g_autoptr(CnState) state = cn_state_open(state_dir, TRUE, error);
    if (!state)
        return fail_with(error, network);
    g_autoptr(CnOwnedBridges) owned = cn_ops_read_owned_bridges(state, error);
    if (!owned)
        return FALSE;
    if (!g_hash_table_contains(owned->networks, bridge)) {
        say(report, NULL, network, "bridge %s kept (carthage-net did not make it)", bridge);
        return TRUE;
    }
    if (!cn_link_delete(bridge, error))
        return fail_with(error, network);
    g_hash_table_remove(owned->networks, bridge);
    if (!write_owned_bridges(state, owned, error))
        return FALSE;
    say(report, NULL, network, "deleted bridge %s", bridge);
    return TRUE;
}

gboolean cn_ops_undefine_network(CnVirt *virt, CnSite *site, const char *name, gboolean force, const char *state_dir,
                                 GPtrArray *report, GError **error)
{
    g_auto(CnVirtNetwork) current = { 0 };
    CnNetwork *net = cn_site_find_network(site, name);

    if (!cn_virt_network_get(virt, name, &current, error))
        return fail_with(error, name);
    if (!current.exists && !net) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "unknown network '%s' (neither in the definitions nor in libvirt)", name);
        return FALSE;
    }
    if (current.exists && !cn_virt_xml_is_ours(current.config ? current.config : current.live)) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "network %s was not made by carthage-net (no carthage-net <metadata>); left as it is", name);
        return FALSE;
    }
    if (current.exists) {
        g_autoptr(GPtrArray) domains = cn_virt_domains_on_network(virt, name, error);
        if (!domains)
            return fail_with(error, name);
        if (domains->len > 0) {
            g_ptr_array_add(domains, NULL);
            g_autofree char *list = g_strjoinv(", ", (char **)domains->pdata);
            if (!force) {
                g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_BUSY,
                            "network %s is in use by domain(s) %s (use --force to remove it anyway)", name, list);
                return FALSE;
            }
            say(report, NULL, name, "removing while domain(s) %s use it (--force)", list);
        }
        if (current.active) {
            if (!cn_virt_network_destroy(virt, name, error))
                return fail_with(error, name);
            say(report, NULL, name, "stopped");
        }
        if (current.persistent) {
            if (!cn_virt_network_undefine(virt, name, error))
                return fail_with(error, name);
            say(report, NULL, name, "undefined");
        }
    } else {
        say(report, NULL, name, "not defined in libvirt");
    }
    if (net && cn_network_uses_host_bridge(net) && net->delete_bridge)
        return delete_owned_bridge(net->name, net->bridge_name, state_dir, report, error);
    return TRUE;
}

/* The inode of RUN_DIR's file NAME, 0 when there is none: records are
 * written by rename, so a record written again has another. */
static guint64 record_inode(const char *run_dir, const char *name)
{
    g_autofree char *path = g_build_filename(run_dir, name, NULL);
    struct stat st;
    return stat(path, &st) == 0 ? (guint64)st.st_ino : 0;
}

/* cn_ops_stale_domain_records; INODES (guint64, may be NULL) gets each
 * stale record's inode as it was before libvirt was asked. */
static gboolean stale_records(CnVirt *virt, const char *run_dir, GPtrArray *stale, GArray *inodes, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) listing = g_dir_open(run_dir, 0, NULL);
    for (const char *name; listing && (name = g_dir_read_name(listing));) {
        if (g_str_has_prefix(name, "hook-domain-"))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, cn_compare_string_ptrs);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        const char *domain_name = name + strlen("hook-domain-");
        guint64 inode = record_inode(run_dir, name);
        g_auto(CnVirtDomain) domain = { 0 };
        if (!cn_virt_domain_get(virt, domain_name, &domain, error))
            return FALSE;
        if (domain.exists && domain.active)
            continue;
        g_ptr_array_add(stale, g_strdup(domain_name));
        if (inodes)
            g_array_append_val(inodes, inode);
    }
    return TRUE;
}

gboolean cn_ops_stale_domain_records(CnVirt *virt, const char *run_dir, GPtrArray *stale, GError **error)
{
    return stale_records(virt, run_dir, stale, NULL, error);
}

gboolean cn_ops_forget_stale_domain_records(CnVirt *virt, const char *run_dir, GPtrArray *forgotten,
                                            GError **error)
{
    g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) inodes = g_array_new(FALSE, FALSE, sizeof(guint64));
    if (!stale_records(virt, run_dir, stale, inodes, error))
        return FALSE;
    if (stale->len == 0)
        return TRUE;
    /* Under the records' lock, and only a record as it was when libvirt
     * said its domain was not running: one written since is a new start's
     * (or a take-over's), not to be forgotten. */
    int lock = cn_ports_lock(run_dir, error);
    if (lock < 0)
        return FALSE;
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < stale->len; i++) {
        g_autofree char *name = cn_hook_ports_file_name(stale->pdata[i]);
        guint64 inode = g_array_index(inodes, guint64, i);
        if (inode == 0 || record_inode(run_dir, name) != inode)
            continue;
        ok = cn_runtime_remove(run_dir, name, error);
        if (ok)
            g_ptr_array_add(forgotten, g_strdup(stale->pdata[i]));
    }
    close(lock);
    return ok;
}

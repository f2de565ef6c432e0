/* cmd-repair.c - carthage-net repair [--purge]: host state back in step
 * with the definitions, or everything carthage-net made removed. */
#include <stdio.h>
#include <string.h>

#include "cli-full.h"
#include "link.h"
#include "nft.h"
#include "ops-isolation.h"
#include "ops-network.h"
#include "ops-ports.h"
#include "ops-ovn.h"
#include "paths.h"
#include "pool.h"
#include "templates.h"

/* Every network defined, up to date and running; bridges made. */
static int repair(CnCli *cli, CnSite *site, CnVirt *virt)
{
    g_autoptr(GError) error = NULL;
    int exit_code = CN_EXIT_OK;
    g_autoptr(xmlDoc) template = cn_cli_load_template("network.xml", &exit_code);
    if (!template)
        return exit_code;
    const CnDefineOptions options = { .start = TRUE };
    g_autoptr(GPtrArray) in_libvirt = g_ptr_array_new(); /* borrowed: no free function */
    g_ptr_array_extend(in_libvirt, site->networks, NULL, NULL);
    g_autoptr(GPtrArray) in_ovn = cn_cli_take_ovn_networks(in_libvirt);
    for (guint i = 0; i < in_libvirt->len; i++) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        gboolean ok = cn_ops_define_network(virt, in_libvirt->pdata[i], template, &options, cli->state_dir,
                                            report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    /* OVN's: switches, ports, DHCP and DNS as defined, in the northbound
     * database (another host may have repaired them first: then nothing). */
    if (in_ovn->len) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        const CnOvnOptions ovn = { .northbound = cli->ovn_nb };
        gboolean ok = cn_ops_ovn_define(in_ovn, &ovn, report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    /* The hook's records of domains that are not running: their "stopped"
     * never ran to the end (a kill, a crash); their ports go below. */
    g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
    if (!cn_ops_forget_stale_domain_records(virt, cn_paths_run_dir(), stale, &error))
        return cn_cli_fail(error);
    for (guint i = 0; i < stale->len; i++)
        printf("domain %s: not running; the hook's record of its ports forgotten\n", (char *)stale->pdata[i]);
    g_autoptr(GPtrArray) orphans = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    cn_runtime_remove_orphans(cn_paths_run_dir(), orphans, warnings);
    for (guint i = 0; i < orphans->len; i++)
        printf("%s/%s: left by a writer that was killed; removed\n", cn_paths_run_dir(), (char *)orphans->pdata[i]);
    for (guint i = 0; i < warnings->len; i++)
        cn_cli_warning("%s", (char *)warnings->pdata[i]);
    /* Isolation of running networks out of step (tables gone after a flush
     * or before the hook was installed, or built for other definitions;
     * elements missing, extra or changed; the hook's record): tables
     * applied again, or only the elements that differ changed, in one
     * batch, from the definitions and the hook's records. */
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (!cn_network_has_isolation(net))
            continue;
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        gboolean ok = cn_isolation_repair(net, cn_paths_run_dir(), report, &error);
        for (guint j = 0; j < report->len; j++)
            printf("network %s: %s\n", net->name, (char *)report->pdata[j]);
        if (!ok) {
            g_prefix_error(&error, "network %s: ", net->name);
            return cn_cli_fail(error);
        }
    }
    g_autoptr(CnState) state = cn_state_open(cli->state_dir, TRUE, &error);
    if (!state)
        return cn_cli_fail(error);
    /* Pools made and converged: a network restart makes a new bridge and
     * pool TAPs fall off it; a crash may have left some unmade. */
    for (guint i = 0; i < site->pools->len; i++) {
        const CnPool *pool = site->pools->pdata[i];
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        if (!cn_pool_create(state, pool, report, &error)) {
            g_prefix_error(&error, "pool %s: ", pool->name);
            return cn_cli_fail(error);
        }
        for (guint j = 0; j < report->len; j++)
            printf("pool %s: %s\n", pool->name, (char *)report->pdata[j]);
    }
    g_clear_pointer(&state, cn_state_close);
    g_autoptr(GPtrArray) ours = cn_virt_our_networks(virt, &error);
    if (!ours)
        return cn_cli_fail(error);
    /* Not removed: a network missing from the definitions may be a layering
     * mistake, and guests may use it.  Say so instead. */
    for (guint i = 0; i < ours->len; i++) {
        if (!cn_site_find_network(site, ours->pdata[i]))
            printf("network %s: made by carthage-net but not in the definitions; left alone (carthage-net "
                   "undefine %s removes it)\n", (char *)ours->pdata[i], (char *)ours->pdata[i]);
    }
    return CN_EXIT_OK;
}

/* Everything carthage-net made: its libvirt networks (even in use), the
 * bridges it made, and the state directory. */
static int purge(CnCli *cli, CnSite *site, CnVirt *virt)
{
    g_autoptr(GError) error = NULL;
    /* OVN's northbound databases: every row carthage-net wrote. */
    g_autoptr(GPtrArray) in_ovn = g_ptr_array_new(); /* borrowed: no free function */
    for (guint i = 0; i < site->networks->len; i++)
        if (cn_network_in_ovn(site->networks->pdata[i]))
            g_ptr_array_add(in_ovn, site->networks->pdata[i]);
    if (in_ovn->len || cli->ovn_nb) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        const CnOvnOptions ovn = { .northbound = cli->ovn_nb };
        gboolean ok = cn_ops_ovn_purge(in_ovn, &ovn, report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    g_autoptr(GPtrArray) ours = cn_virt_our_networks(virt, &error);
    if (!ours)
        return cn_cli_fail(error);
    for (guint i = 0; i < ours->len; i++) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        gboolean ok = cn_ops_undefine_network(virt, site, ours->pdata[i], TRUE, cli->state_dir, report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    /* libvirt is done with: from here the lock may be held throughout. */
    g_autoptr(CnState) state = cn_state_open(cli->state_dir, TRUE, &error);
    if (!state)
        return cn_cli_fail(error);
    for (guint i = 0; i < site->pools->len; i++) {
        const CnPool *pool = site->pools->pdata[i];
        if (!cn_pool_dispose(state, pool, TRUE, &error)) {
            g_prefix_error(&error, "pool %s: ", pool->name);
            return cn_cli_fail(error);
        }
        printf("pool %s: disposed\n", pool->name);
    }
    /* nftables tables of every network carthage-net knows of. */
    g_autoptr(GHashTable) networks_seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < site->networks->len; i++)
        g_hash_table_add(networks_seen, ((CnNetwork *)site->networks->pdata[i])->name);
    for (guint i = 0; i < ours->len; i++)
        g_hash_table_add(networks_seen, ours->pdata[i]);
    GHashTableIter names;
    gpointer name;
    g_hash_table_iter_init(&names, networks_seen);
    while (g_hash_table_iter_next(&names, &name, NULL)) {
        if (!cn_nft_network_remove(name, &error)) {
            cn_cli_error("network %s: %s", (char *)name, error->message);
            return CN_EXIT_SYSTEM;
        }
    }
    g_autoptr(CnOwnedBridges) owned = cn_ops_read_owned_bridges(state, &error);
    if (!owned)
        return cn_cli_fail(error);
    /* Every bridge we made goes, whatever delete_bridge says: this is
     * the clean uninstall.  The record goes with the state directory. */
    GHashTableIter iter;
    gpointer bridge, network;
    g_hash_table_iter_init(&iter, owned->networks);
    while (g_hash_table_iter_next(&iter, &bridge, &network)) {
        if (!cn_link_delete(bridge, &error)) {
            cn_cli_error("network %s: %s", (char *)network, error->message);
            return CN_EXIT_SYSTEM;
        }
        printf("network %s: deleted bridge %s\n", (char *)network, (char *)bridge);
    }
    /* The hook's records of what it put in nftables went with the tables. */
    const char *run_dir = cn_paths_run_dir();
    g_autoptr(GDir) runtime = g_dir_open(run_dir, 0, NULL);
    for (const char *file; runtime && (file = g_dir_read_name(runtime));) {
        /* The records' lock last, after what it guards. */
        if ((g_str_has_prefix(file, "hook-") || g_str_has_prefix(file, ".hook-")) &&
            strcmp(file, CN_PORTS_LOCK_FILE) != 0 && !cn_runtime_remove(run_dir, file, &error)) {
            cn_cli_error("%s", error->message);
            return CN_EXIT_SYSTEM;
        }
    }
    if (!cn_runtime_remove(run_dir, CN_PORTS_LOCK_FILE, &error)) {
        cn_cli_error("%s", error->message);
        return CN_EXIT_SYSTEM;
    }
    if (!cn_state_purge(state, &error))
        return cn_cli_fail(error);
    printf("state directory %s: removed\n", cn_state_dir(state));
    return CN_EXIT_OK;
}

int cn_cmd_repair(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "repair", "[--purge]",
        "Bring host state back in step with the definitions; --purge removes everything "
        "carthage-net made.", NULL
    };
    gboolean purge_all = FALSE;
    const GOptionEntry entries[] = {
        { "purge", 0, 0, G_OPTION_ARG_NONE, &purge_all,
          "Remove every network, bridge and state file carthage-net made (for uninstalling)", NULL },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc > 1) {
        cn_cli_error("repair: takes no arguments");
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnSite) site = cn_cli_load_site(cli, !purge_all, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;
    return purge_all ? purge(cli, site, virt) : repair(cli, site, virt);
}

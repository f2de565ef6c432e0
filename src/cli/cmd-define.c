/* cmd-define.c - carthage-net define / undefine: libvirt networks from the
 * definitions, through the libvirt API (src/ops/ops-network.c). */
#include <stdio.h>
#include <string.h>

#include "cli-full.h"
#include "ops-network.h"
#include "ops-ovn.h"
#include "templates.h"

int cn_cmd_define(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "define", "[NAME…] [--start] [--autostart] [--dry-run]",
        "Define (or update in place) the libvirt networks; idempotent.", NULL
    };
    CnDefineOptions options = { 0 };
    const GOptionEntry entries[] = {
        { "start", 0, 0, G_OPTION_ARG_NONE, &options.start, "Start networks that are not running", NULL },
        { "autostart", 0, 0, G_OPTION_ARG_NONE, &options.autostart, "Mark networks autostart", NULL },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &options.dry_run, "Print what would change; change nothing", NULL },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    /* A dry run records no new pool addresses either. */
    g_autoptr(CnSite) site = cn_cli_load_site(cli, !options.dry_run, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(GPtrArray) selected = cn_cli_select_networks(site, argv + 1, argc - 1);
    if (!selected)
        return CN_EXIT_INVALID;
    /* OVN's networks live in its northbound database, not in libvirt. */
    g_autoptr(GPtrArray) in_ovn = cn_cli_take_ovn_networks(selected);
    if (in_ovn->len) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        CnOvnOptions ovn = { .northbound = cli->ovn_nb, .dry_run = options.dry_run };
        gboolean ok = cn_ops_ovn_define(in_ovn, &ovn, report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    if (selected->len == 0)
        return CN_EXIT_OK;
    g_autoptr(xmlDoc) template = cn_cli_load_template("network.xml", &exit_code);
    if (!template)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;
    for (guint i = 0; i < selected->len; i++) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        gboolean ok = cn_ops_define_network(virt, selected->pdata[i], template, &options, cli->state_dir, report,
                                            &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    return CN_EXIT_OK;
}

int cn_cmd_undefine(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "undefine", "NAME… [--force] [--ovn]",
        "Stop and remove libvirt networks and what carthage-net made for them.", NULL
    };
    gboolean force = FALSE, ovn = FALSE;
    const GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Remove networks even while domains use them", NULL },
        { "ovn", 0, 0, G_OPTION_ARG_NONE, &ovn,
          "NAME is an OVN logical switch of carthage-net's that the definitions no longer have", NULL },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc < 2) {
        cn_cli_error("usage: carthage-net undefine NAME… [--force] [--ovn]");
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(CnVirt) virt = NULL;
    for (int i = 1; i < argc; i++) {
        g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        const CnNetwork *net = cn_site_find_network(site, argv[i]);
        gboolean ok;
        if (ovn || (net && cn_network_in_ovn(net))) {
            CnOvnOptions options = { .northbound = cli->ovn_nb };
            ok = cn_ops_ovn_undefine(argv[i], net, &options, report, &error);
            cn_cli_print_report(report);
            if (!ok)
                return cn_cli_fail(error);
            continue;
        }
        if (!virt && !(virt = cn_cli_open_virt(cli, &exit_code)))
            return exit_code;
        ok = cn_ops_undefine_network(virt, site, argv[i], force, cli->state_dir, report, &error);
        cn_cli_print_report(report);
        if (!ok)
            return cn_cli_fail(error);
    }
    return CN_EXIT_OK;
}

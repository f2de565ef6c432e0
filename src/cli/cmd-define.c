/* cmd-define.c - carthage-net define / undefine: libvirt networks from the
 * definitions, through the libvirt API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "paths.h"
#include "link.h"
#include "netxml-diff.h"
#include "ops-isolation.h"
#include "owned-bridges.h"
#include "render.h"
#include "templates.h"
#include "virt.h"

static void say(const CnDefineOptions *options, const char *network, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
static void say(const CnDefineOptions *options, const char *network, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    printf("network %s: %s%s\n", network, options->dry_run ? "would " : "", text);
}

/* Selected networks: NAMES, or every network when there are none. */
GPtrArray *cn_cli_select_networks(CnSite *site, char **names, int n_names)
{
    GPtrArray *selected = g_ptr_array_new();
    if (n_names == 0) {
        g_ptr_array_extend(selected, site->networks, NULL, NULL);
        return selected;
    }
    for (int i = 0; i < n_names; i++) {
        CnNetwork *net = cn_site_find_network(site, names[i]);
        if (!net) {
            cn_cli_error("unknown network '%s'", names[i]);
            g_ptr_array_unref(selected);
            return NULL;
        }
        g_ptr_array_add(selected, net);
    }
    return selected;
}

CnOwnedBridges *cn_cli_read_owned_bridges(CnState *state, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    CnOwnedBridges *owned = NULL;
    if (!cn_state_load(state, CN_OWNED_BRIDGES_FILE, (CnStateParser)cn_owned_bridges_parse, (gpointer *)&owned,
                       &error)) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return NULL;
    }
    return owned ? owned : cn_owned_bridges_new();
}

gboolean cn_cli_write_owned_bridges(CnState *state, const CnOwnedBridges *owned, int *exit_code)
{
    g_autofree char *text = cn_owned_bridges_format(owned);
    g_autoptr(GError) error = NULL;
    if (!cn_state_write(state, CN_OWNED_BRIDGES_FILE, text, strlen(text), &error)) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return FALSE;
    }
    return TRUE;
}

/* Carthage's BridgeNetwork: a missing Linux bridge is made, and recorded as
 * ours before anything else can fail. */
static gboolean ensure_host_bridge(const CnNetwork *net, const CnDefineOptions *options, const char *state_dir,
                                   int *exit_code)
{
    g_autoptr(GError) error = NULL;
    gboolean exists;
    if (!cn_link_exists(net->bridge_name, &exists, &error)) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return FALSE;
    }
    if (exists)
        return TRUE;
    say(options, net->name, "create bridge %s", net->bridge_name);
    if (options->dry_run)
        return TRUE;
    /* The lock only around our own file: libvirt runs our hook, which
     * takes it too, while we call libvirt. */
    g_autoptr(CnState) state = cn_state_open(state_dir, TRUE, &error);
    if (!state) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return FALSE;
    }
    g_autoptr(CnOwnedBridges) owned = cn_cli_read_owned_bridges(state, exit_code);
    if (!owned)
        return FALSE;
    g_hash_table_replace(owned->networks, g_strdup(net->bridge_name), g_strdup(net->name));
    if (!cn_cli_write_owned_bridges(state, owned, exit_code))
        return FALSE;
    gboolean created;
    if (!cn_link_bridge_ensure(net->bridge_name, net->mtu, &created, &error)) {
        cn_cli_error("network %s: %s", net->name, error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return FALSE;
    }
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

static int fail_with(GError *error, const char *network)
{
    cn_cli_error("network %s: %s", network, error->message);
    return CN_EXIT_SYSTEM;
}

int cn_cli_define_network(CnVirt *virt, const CnNetwork *net, xmlDocPtr template,
                      const CnDefineOptions *options, const char *state_dir)
{
    g_autoptr(GError) error = NULL;
    g_auto(CnVirtNetwork) current = { 0 };
    int exit_code = CN_EXIT_OK;

    if (net->technology == CN_TECH_BRIDGE && !ensure_host_bridge(net, options, state_dir, &exit_code))
        return exit_code;
    if (!cn_virt_network_get(virt, net->name, &current, &error))
        return fail_with(error, net->name);

    g_autoptr(xmlDoc) wanted = cn_render_network(net, template);
    gboolean active = current.active;
    if (!current.exists) {
        say(options, net->name, "define");
        if (!options->dry_run && !cn_virt_network_define(virt, wanted, &error))
            return fail_with(error, net->name);
    } else {
        g_autoptr(CnNetDiff) config_diff = cn_net_diff(current.config ? current.config : current.live, wanted);
        if (cn_net_diff_is_empty(config_diff)) {
            say(options, net->name, "%s", options->dry_run ? "stay unchanged" : "unchanged");
        } else {
            keep_libvirt_identity(wanted, &current);
            say(options, net->name, "update the persistent definition (same UUID)");
            if (!options->dry_run && !cn_virt_network_define(virt, wanted, &error))
                return fail_with(error, net->name);
        }
        if (active) {
            g_autoptr(CnNetDiff) live_diff = cn_net_diff(current.live, wanted);
            for (guint i = 0; i < live_diff->updates->len; i++) {
                const CnNetUpdate *update = live_diff->updates->pdata[i];
                say(options, net->name, "%s %s live", update->command == CN_NET_UPDATE_ADD ? "add" : "delete",
                    update->description);
                if (!options->dry_run && !cn_virt_network_update_live(virt, net->name, update, &error))
                    return fail_with(error, net->name);
            }
            /* What the hook works from, and the kernel's elements, follow
             * the definitions now: machines added, changed or removed. */
            gboolean restart = live_diff->restart_reasons->len > 0;
            if (cn_network_has_isolation(net)) {
                g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
                gboolean ok = cn_isolation_sync_live(net, cn_paths_run_dir(), !restart, options->dry_run, report, &error);
                for (guint i = 0; i < report->len; i++)
                    printf("network %s: %s\n", net->name, (char *)report->pdata[i]);
                if (!ok)
                    return fail_with(error, net->name);
            }
            if (restart) {
                g_ptr_array_add(live_diff->restart_reasons, NULL);
                g_autofree char *reasons = g_strjoinv(", ", (char **)live_diff->restart_reasons->pdata);
                printf("network %s: needs a restart to apply: %s (virsh net-destroy %s; virsh "
                       "net-start %s)\n", net->name, reasons, net->name, net->name);
            }
        }
    }
    if (options->start && !active) {
        say(options, net->name, "start");
        if (!options->dry_run && !cn_virt_network_start(virt, net->name, &error))
            return fail_with(error, net->name);
    }
    if (options->autostart && !current.autostart) {
        say(options, net->name, "set autostart");
        if (!options->dry_run && !cn_virt_network_set_autostart(virt, net->name, TRUE, &error))
            return fail_with(error, net->name);
    }
    return CN_EXIT_OK;
}

CnVirt *cn_cli_open_virt(CnCli *cli, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    CnVirt *virt = cn_virt_open(cli->uri, &error);
    if (!virt) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
    }
    return virt;
}

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
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    /* A dry run records no new pool addresses either. */
    g_autoptr(CnSite) site = cn_cli_load_site(cli, !options.dry_run, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(GPtrArray) selected = cn_cli_select_networks(site, argv + 1, argc - 1);
    if (!selected)
        return CN_EXIT_INVALID;
    g_autoptr(xmlDoc) template = cn_cli_load_template("network.xml", &exit_code);
    if (!template)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;
    for (guint i = 0; i < selected->len; i++) {
        exit_code = cn_cli_define_network(virt, selected->pdata[i], template, &options, cli->state_dir);
        if (exit_code != CN_EXIT_OK)
            return exit_code;
    }
    return CN_EXIT_OK;
}

/* undefine */

int cn_cli_delete_owned_bridge(const char *network, const char *bridge, const char *state_dir)
{
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) state = cn_state_open(state_dir, TRUE, &error);
    if (!state)
        return fail_with(error, network);
    g_autoptr(CnOwnedBridges) owned = cn_cli_read_owned_bridges(state, &exit_code);
    if (!owned)
        return exit_code;
    if (!g_hash_table_contains(owned->networks, bridge)) {
        printf("network %s: bridge %s kept (carthage-net did not make it)\n", network, bridge);
        return CN_EXIT_OK;
    }
    if (!cn_link_delete(bridge, &error))
        return fail_with(error, network);
    g_hash_table_remove(owned->networks, bridge);
    if (!cn_cli_write_owned_bridges(state, owned, &exit_code))
        return exit_code;
    printf("network %s: deleted bridge %s\n", network, bridge);
    return CN_EXIT_OK;
}

int cn_cli_undefine_network(CnVirt *virt, CnSite *site, const char *name, gboolean force,
                            const char *state_dir)
{
    g_autoptr(GError) error = NULL;
    g_auto(CnVirtNetwork) current = { 0 };
    CnNetwork *net = cn_site_find_network(site, name);

    if (!cn_virt_network_get(virt, name, &current, &error))
        return fail_with(error, name);
    if (!current.exists && !net) {
        cn_cli_error("unknown network '%s' (neither in the definitions nor in libvirt)", name);
        return CN_EXIT_INVALID;
    }
    if (current.exists && !cn_virt_xml_is_ours(current.config ? current.config : current.live)) {
        cn_cli_error("network %s was not made by carthage-net (no carthage-net <metadata>); left as "
                     "it is", name);
        return CN_EXIT_INVALID;
    }
    if (current.exists) {
        g_autoptr(GPtrArray) domains = cn_virt_domains_on_network(virt, name, &error);
        if (!domains)
            return fail_with(error, name);
        if (domains->len > 0) {
            g_ptr_array_add(domains, NULL);
            g_autofree char *list = g_strjoinv(", ", (char **)domains->pdata);
            if (!force) {
                cn_cli_error("network %s is in use by domain(s) %s (use --force to remove it anyway)",
                             name, list);
                return CN_EXIT_BUSY;
            }
            printf("network %s: removing while domain(s) %s use it (--force)\n", name, list);
        }
        if (current.active) {
            if (!cn_virt_network_destroy(virt, name, &error))
                return fail_with(error, name);
            printf("network %s: stopped\n", name);
        }
        if (current.persistent) {
            if (!cn_virt_network_undefine(virt, name, &error))
                return fail_with(error, name);
            printf("network %s: undefined\n", name);
        }
    } else {
        printf("network %s: not defined in libvirt\n", name);
    }
    if (net && net->technology == CN_TECH_BRIDGE && net->delete_bridge)
        return cn_cli_delete_owned_bridge(net->name, net->bridge_name, state_dir);
    return CN_EXIT_OK;
}

int cn_cmd_undefine(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "undefine", "NAME… [--force]",
        "Stop and remove libvirt networks and what carthage-net made for them.", NULL
    };
    gboolean force = FALSE;
    const GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Remove networks even while domains use them", NULL },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc < 2) {
        cn_cli_error("usage: carthage-net undefine NAME… [--force]");
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;
    for (int i = 1; i < argc; i++) {
        exit_code = cn_cli_undefine_network(virt, site, argv[i], force, cli->state_dir);
        if (exit_code != CN_EXIT_OK)
            return exit_code;
    }
    return CN_EXIT_OK;
}

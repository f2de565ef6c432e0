/* cmd-render.c - carthage-net render network|interface|domain|netdev|ovn */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-full.h"
#include "ops-ovn-metadata.h"
#include "netaddr.h"
#include "ops-ovn.h"
#include "paths.h"
#include "pool-state.h"
#include "render.h"
#include "state.h"
#include "templates.h"

typedef struct {
    CnCli *cli;
    CnSite *site;
    const char *base; /* render domain --base */
    gboolean user;    /* render netdev --user (TAP pool issue) */
    const char *socket_dir; /* render netdev --user: the user-mode guests' metadata sockets */
    gboolean seed;    /* render domain --seed: the NoCloud seed too */
    const char *data_dir; /* the machines' metadata files (--data-dir) */
} RenderContext;

static int print_and_free_doc(xmlDocPtr doc)
{
    g_autofree char *text = cn_xml_format(doc);
    xmlFreeDoc(doc);
    fputs(text, stdout);
    return CN_EXIT_OK;
}

static CnMachine *find_machine(CnSite *site, const char *name)
{
    CnMachine *machine = cn_site_find_machine(site, name);
    if (!machine)
        cn_cli_error("unknown machine '%s'", name);
    return machine;
}

static int render_network(RenderContext *ctx, char **args)
{
    int exit_code = CN_EXIT_OK;
    CnNetwork *net = cn_site_find_network(ctx->site, args[0]);
    if (!net) {
        cn_cli_error("unknown network '%s'", args[0]);
        return CN_EXIT_INVALID;
    }
    if (cn_network_in_ovn(net)) {
        cn_cli_error("network %s is technology = ovn: an OVN logical switch, not a libvirt network "
                     "(render ovn %s shows its northbound transaction)", net->name, net->name);
        return CN_EXIT_INVALID;
    }
    g_autoptr(xmlDoc) template = cn_cli_load_template("network.xml", &exit_code);
    if (!template)
        return exit_code;
    return print_and_free_doc(cn_render_network(net, template));
}

/* The OVSDB operations define sends to an empty northbound database. */
static int render_ovn(RenderContext *ctx, char **args)
{
    g_autoptr(GPtrArray) selected = cn_cli_select_networks(ctx->site, args, (int)g_strv_length(args));
    if (!selected)
        return CN_EXIT_INVALID;
    g_autoptr(GPtrArray) in_ovn = cn_cli_take_ovn_networks(selected);
    if (g_strv_length(args) && selected->len) {
        cn_cli_error("network %s is not technology = ovn", ((CnNetwork *)selected->pdata[0])->name);
        return CN_EXIT_INVALID;
    }
    if (in_ovn->len == 0) {
        cn_cli_error("no network with technology = ovn in the definitions");
        return CN_EXIT_INVALID;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *text = cn_ops_ovn_render(in_ovn, &error);
    if (!text)
        return cn_cli_fail(error);
    printf("%s\n", text);
    return CN_EXIT_OK;
}

static int render_interface(RenderContext *ctx, char **args)
{
    int exit_code = CN_EXIT_OK;
    CnMachine *machine = find_machine(ctx->site, args[0]);
    if (!machine)
        return CN_EXIT_INVALID;
    CnLink *link = NULL;
    if (args[1] && !(link = cn_site_find_link(ctx->site, args[0], args[1]))) {
        cn_cli_error("machine '%s' has no interface '%s'", args[0], args[1]);
        return CN_EXIT_INVALID;
    }
    g_autoptr(GHashTable) taps = cn_cli_held_taps(ctx->cli, machine, link, &exit_code);
    if (!taps)
        return exit_code;
    g_autoptr(xmlDoc) template = cn_cli_load_template("interface.xml", &exit_code);
    if (!template)
        return exit_code;
    if (!link)
        return print_and_free_doc(cn_render_devices(machine, taps, template));

    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlDocSetRootElement(doc, cn_render_interface(doc, link, g_hash_table_lookup(taps, link), template));
    g_autofree char *text = cn_xml_format(doc);
    fputs(text, stdout);
    return CN_EXIT_OK;
}

/* Pool addresses of MACHINE's links on OVN networks live in the
 * northbound database: there for the hook's events (resolved); without
 * the database the domain is rendered all the same, without them. */
static void fill_ovn_pool_addresses(CnCli *cli, const CnMachine *machine)
{
    g_autoptr(GPtrArray) networks = g_ptr_array_new();
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (link->net && cn_network_in_ovn(link->net) && link->v4_source == CN_V4_POOL &&
            !g_ptr_array_find(networks, link->net, NULL))
            g_ptr_array_add(networks, link->net);
    }
    if (networks->len == 0)
        return;
    g_autoptr(GError) error = NULL;
    const CnOvnOptions options = { .northbound = cli->ovn_nb };
    if (!cn_ops_ovn_pool_addresses(networks, &options, &error))
        cn_cli_warning("pool addresses of OVN links left out of the domain's carthage-net metadata: %s",
                       error->message);
}

/* A base named otherwise than the machine's domain: rendered all the same
 * (as always), but the hook keeps reserved MACs for the machine's domain. */
static void warn_domain_name(xmlDocPtr base, const CnMachine *machine)
{
    xmlNodePtr name = cn_xml_child(xmlDocGetRootElement(base), "name");
    g_autofree char *text = name ? (char *)xmlNodeGetContent(name) : NULL;
    if (text && strcmp(g_strstrip(text), cn_machine_domain(machine)) != 0)
        cn_cli_warning("the base domain is named '%s', but machine %s's domain is '%s': on a network that isolates "
                       "guests the hook will not let it use the machine's MACs (set [machine %s] domain_name = %s)",
                       text, machine->name, cn_machine_domain(machine), machine->name, text);
}

/* The machine's interfaces on the host's networks (TAPs, bridges, OVN). */
static gboolean merge_host_ports(RenderContext *ctx, xmlDocPtr base, CnMachine *machine, gboolean from_stdin,
                                 int *exit_code)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) taps = cn_cli_held_taps(ctx->cli, machine, NULL, exit_code);
    if (!taps)
        return FALSE;
    fill_ovn_pool_addresses(ctx->cli, machine);
    g_autoptr(xmlDoc) template = cn_cli_load_template("interface.xml", exit_code);
    if (!template)
        return FALSE;
    if (!cn_render_domain_merge(base, machine, taps, template, &error)) {
        cn_cli_error("%s: %s", from_stdin ? "<stdin>" : ctx->base, error->message);
        *exit_code = CN_EXIT_INVALID;
        return FALSE;
    }
    return TRUE;
}

static int render_domain(RenderContext *ctx, char **args)
{
    int exit_code = CN_EXIT_OK;
    g_autofree char *text = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;

    if (!ctx->base) {
        cn_cli_error("render domain: --base FILE|- is required (the domain XML to merge into)");
        return CN_EXIT_USAGE;
    }
    CnMachine *machine = find_machine(ctx->site, args[0]);
    if (!machine)
        return CN_EXIT_INVALID;
    gboolean from_stdin = strcmp(ctx->base, "-") == 0;
    if (from_stdin) {
        g_autoptr(GIOChannel) in = g_io_channel_unix_new(STDIN_FILENO);
        g_io_channel_set_encoding(in, NULL, NULL);
        if (g_io_channel_read_to_end(in, &text, &length, &error) != G_IO_STATUS_NORMAL) {
            cn_cli_error("cannot read the base domain from stdin: %s", error->message);
            return CN_EXIT_SYSTEM;
        }
    } else if (!g_file_get_contents(ctx->base, &text, &length, &error)) {
        cn_cli_error("%s", error->message);
        return CN_EXIT_INVALID;
    }
    g_autoptr(xmlDoc) base = cn_xml_parse(from_stdin ? "<stdin>" : ctx->base, text, length, &error);
    if (!base) {
        cn_cli_error("%s", error->message);
        return CN_EXIT_INVALID;
    }
    if (ctx->user) {
        /* libvirt session mode: QEMU user-mode NICs, no host ports. */
        g_autofree char *connector = cn_cli_connector(&error);
        if (!connector || !cn_render_domain_merge_user(base, machine, connector, ctx->socket_dir, &error)) {
            cn_cli_error("%s: %s", from_stdin ? "<stdin>" : ctx->base, error->message);
            return CN_EXIT_INVALID;
        }
    } else if (!merge_host_ports(ctx, base, machine, from_stdin, &exit_code)) {
        return exit_code;
    }
    warn_domain_name(base, machine);
    if (ctx->seed && !cn_cli_seed_domain(base, machine, ctx->data_dir, &error)) {
        cn_cli_error("%s", error->message);
        return CN_EXIT_INVALID;
    }
    g_autofree char *out = cn_xml_format(base);
    fputs(out, stdout);
    return CN_EXIT_OK;
}

static int render_netdev(RenderContext *ctx, char **args)
{
    int exit_code = CN_EXIT_OK;
    CnLink *link = cn_site_find_link(ctx->site, args[0], args[1]);
    if (!link) {
        cn_cli_error("unknown link: machine '%s' interface '%s'", args[0], args[1]);
        return CN_EXIT_INVALID;
    }
    if (ctx->user) {
        g_autoptr(GError) error = NULL;
        g_autofree char *connector = cn_cli_connector(&error);
        g_autofree char *text = connector ? cn_render_netdev_user(link, connector, ctx->socket_dir, &error) : NULL;
        if (!text) {
            cn_cli_error("render netdev %s %s --user: %s", args[0], args[1], error->message);
            return CN_EXIT_INVALID;
        }
        fputs(text, stdout);
        return CN_EXIT_OK;
    }
    if (!link->pool) {
        cn_cli_error("[link %s %s] is not pool-backed: render netdev needs a 'pool' key, or --user for "
                     "QEMU user-mode networking (use render interface for libvirt)", args[0], args[1]);
        return CN_EXIT_INVALID;
    }
    g_autoptr(GHashTable) taps = cn_cli_held_taps(ctx->cli, link->machine, link, &exit_code);
    if (!taps)
        return exit_code;
    g_autofree char *text = cn_render_netdev(link, g_hash_table_lookup(taps, link));
    fputs(text, stdout);
    return CN_EXIT_OK;
}

typedef struct {
    const char *what;
    guint min_args, max_args;
    const char *usage;
    int (*run)(RenderContext *ctx, char **args);
} RenderKind;

static const RenderKind kinds[] = {
    { "network", 1, 1, "render network NAME", render_network },
    { "interface", 1, 2, "render interface MACHINE [IFACE]", render_interface },
    { "domain", 1, 1, "render domain MACHINE --base FILE|- [--seed] [--user]", render_domain },
    { "netdev", 2, 2, "render netdev MACHINE IFACE [--user]", render_netdev },
    { "ovn", 0, G_MAXUINT, "render ovn [NAME…]", render_ovn },
};

int cn_cmd_render(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "render", "network NAME | interface MACHINE [IFACE] | domain MACHINE --base FILE|- [--seed] | "
                  "netdev MACHINE IFACE | ovn [NAME…]",
        "Print libvirt XML or QEMU arguments for the definitions.", NULL
    };
    RenderContext ctx = { .cli = cli };
    g_autofree char *base = NULL, *data_dir = NULL, *socket_dir = NULL;
    const GOptionEntry entries[] = {
        { "base", 0, 0, G_OPTION_ARG_FILENAME, &base, "render domain: base domain XML (- for stdin)",
          "FILE" },
        { "seed", 0, 0, G_OPTION_ARG_NONE, &ctx.seed,
          "render domain: the NoCloud seed too (SMBIOS serial ds=nocloud, the documents as fw_cfg entries)",
          NULL },
        { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
          "render domain --seed: per-machine files DIR/MACHINE/{user-data,vendor-data,instance-id} (default "
          "$CARTHAGE_NET_METADATA_DIR, else " CN_PATHS_METADATA_DIR ")",
          "DIR" },
        { "user", 0, 0, G_OPTION_ARG_NONE, &ctx.user,
          "render netdev, render domain: QEMU user-mode networking (unprivileged, qemu:///session; weaker "
          "isolation)", NULL },
        { "socket-dir", 0, 0, G_OPTION_ARG_FILENAME, &socket_dir,
          "render netdev --user: the metadata sockets' directory, as metadata serve --socket-dir (default "
          "$CARTHAGE_NET_SOCKET_DIR, else RUN/metadata)",
          "DIR" },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    ctx.base = base;
    ctx.socket_dir = socket_dir ? socket_dir : cn_paths_socket_dir();
    ctx.data_dir = data_dir ? data_dir : cn_paths_metadata_dir();
    const RenderKind *kind = NULL;
    for (gsize i = 0; argc > 1 && i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(kinds[i].what, argv[1]) == 0)
            kind = &kinds[i];
    }
    if (!kind) {
        cn_cli_error("render: expected network, interface, domain, netdev or ovn (see 'carthage-net "
                     "render --help')");
        return CN_EXIT_USAGE;
    }
    guint n_args = (guint)argc - 2;
    if (n_args < kind->min_args || n_args > kind->max_args) {
        cn_cli_error("usage: carthage-net %s", kind->usage);
        return CN_EXIT_USAGE;
    }
    if (ctx.user && strcmp(kind->what, "netdev") != 0 && strcmp(kind->what, "domain") != 0) {
        cn_cli_error("render %s: --user applies only to render netdev and render domain", kind->what);
        return CN_EXIT_USAGE;
    }
    if ((ctx.seed || data_dir) && strcmp(kind->what, "domain") != 0) {
        cn_cli_error("render %s: --seed and --data-dir apply only to render domain", kind->what);
        return CN_EXIT_USAGE;
    }
    if (socket_dir && !ctx.user) {
        cn_cli_error("render %s: --socket-dir applies only with --user", kind->what);
        return CN_EXIT_USAGE;
    }
    if (base && strcmp(kind->what, "domain") != 0) {
        cn_cli_error("render %s: --base applies only to render domain", kind->what);
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnSite) site = cn_cli_load_site(cli, TRUE, &exit_code);
    if (!site)
        return exit_code;
    ctx.site = site;
    return kind->run(&ctx, argv + 2);
}

/* cmd-metadata.c - carthage-net metadata serve|show|keygen: the built-in
 * metadata handler (metadata-server.h), what it would answer
 * (metadata-docs.h), and the key that signs its identity documents
 * (metadata-signer.h). */
#include <errno.h>
#include <glib-unix.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "events-notify.h"
#include "events.h"
#include "nft.h"
#include "paths.h"
#include "metadata-control.h"
#include "metadata-server.h"
#include "metadata-sockets.h"
#include "metadata-signer.h"
#include "netaddr.h"
#include "ops-ovn-metadata.h"
#include "ovn-plan.h"


typedef struct {
    CnCli *cli;
    const char *data_dir;
    const char *identity_key; /* signs instance identity documents when it exists */
    const char *hypervisor;   /* the documents' "hypervisor" */
    CnMetadataServer *server;
    GMainLoop *loop;
    const char *ovn_network; /* --ovn: this chassis's end of that network's metadata localport */
    const char *ovs_db;
    CnMetadataTokenKey token_key; /* per host boot, in the run directory */
    const char *socket_dir;  /* --socket-dir: user-mode guests' sockets, not addresses */
    CnSocketDir *sockets;
} ServeContext;

/* --ovn NETWORK: an OVN network with metadata = true; its links' pool
 * addresses from the northbound database (the fleet's truth). */
static gboolean complete_ovn(ServeContext *ctx, CnSite *site, int *exit_code)
{
    CnNetwork *net = cn_site_find_network(site, ctx->ovn_network);
    if (!net || !cn_network_in_ovn(net) || !net->metadata) {
        cn_cli_error("metadata serve --ovn %s: no technology = ovn network of that name with metadata = true in "
                     "the definitions", ctx->ovn_network);
        *exit_code = CN_EXIT_INVALID;
        return FALSE;
    }
    g_autoptr(GPtrArray) networks = g_ptr_array_new();
    g_ptr_array_add(networks, net);
    const CnOvnOptions options = { .northbound = ctx->cli->ovn_nb };
    g_autoptr(GError) error = NULL;
    if (!cn_ops_ovn_pool_addresses(networks, &options, &error)) {
        *exit_code = cn_cli_fail(error);
        return FALSE;
    }
    return TRUE;
}

/* The definitions and the machines' files; NULL (diagnostics printed)
 * when the definitions do not load. */
static CnMetadataSnapshot *load_snapshot(ServeContext *ctx, int *exit_code)
{
    CnCli *cli = ctx->cli;
    const char *data_dir = ctx->data_dir;
    CnSite *site = cn_cli_load_site(cli, FALSE, exit_code);
    if (!site)
        return NULL;
    if (ctx->ovn_network && !complete_ovn(ctx, site, exit_code)) {
        cn_site_free(site);
        return NULL;
    }
    /* The identity key, read again at each load (a rotation takes effect at
     * the next SIGHUP); none there: no identity documents. */
    g_autoptr(GError) error = NULL;
    g_autoptr(CnMetadataSigner) signer = cn_metadata_signer_load(ctx->identity_key, &error);
    if (!signer && !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        cn_cli_error("%s", error->message);
        cn_site_free(site);
        *exit_code = CN_EXIT_INVALID;
        return NULL;
    }
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    CnMetadataSnapshot *snapshot = cn_metadata_snapshot_new(site, data_dir, cn_paths_run_dir(), warnings);
    for (guint i = 0; i < warnings->len; i++)
        cn_cli_warning("%s", (char *)warnings->pdata[i]);
    if (signer) {
        CnMetadataSigner *owned = g_steal_pointer(&signer);
        cn_metadata_snapshot_set_identity(snapshot, ctx->hypervisor, cn_metadata_signer_key_id(owned),
                                          cn_metadata_signer_sign, owned, (GDestroyNotify)cn_metadata_signer_unref);
    }
    return snapshot;
}


/* The definitions and files read again: "reloaded: ..." (also in the
 * log), or NULL when they do not load (the previous ones stay). */
static char *reload_now(ServeContext *ctx)
{
    int exit_code;
    CnMetadataSnapshot *snapshot = load_snapshot(ctx, &exit_code);
    if (!snapshot) {
        cn_cli_warning("reload failed: still answering from the previous definitions");
        return NULL;
    }
    guint waiting_before = cn_metadata_server_waiting(ctx->server);
    cn_metadata_server_set_snapshot(ctx->server, snapshot);
    g_autoptr(GError) sockets_error = NULL;
    if (ctx->sockets &&
        !cn_socket_dir_sync(ctx->sockets, ctx->server, cn_metadata_snapshot_site(snapshot), &sockets_error))
        cn_cli_warning("reload: %s", sockets_error->message);
    char *line = g_strdup_printf("reloaded: %u machine(s); %u connection(s) open; %u long-poll(s) answered",
                                 cn_metadata_snapshot_site(snapshot)->machines->len,
                                 cn_metadata_server_connections(ctx->server),
                                 waiting_before - cn_metadata_server_waiting(ctx->server));
    printf("%s\n", line);
    fflush(stdout);
    return line;
}

static gboolean reload(gpointer data)
{
    ServeContext *ctx = data;
    if (ctx->server) /* else still starting: it loads what is there now */
        g_free(reload_now(ctx));
    return G_SOURCE_CONTINUE;
}

/* The control socket's commands (metadata-control.h). */
static char *control_command(const char *command, gpointer data)
{
    ServeContext *ctx = data;
    if (g_str_has_prefix(command, "release ")) {
        const char *machine = command + strlen("release ");
        if (!ctx->sockets)
            return g_strdup("error this server has no socket directory");
        return cn_socket_dir_release(ctx->sockets, ctx->server, machine)
                   ? g_strdup_printf("ok %s/%s.sock removed", ctx->socket_dir, machine)
                   : g_strdup_printf("error no socket for machine %s", machine);
    }
    if (strcmp(command, "reload") != 0)
        return g_strdup_printf("error unknown command (reload, release MACHINE, ping)");
    g_autofree char *line = ctx->server ? reload_now(ctx) : NULL;
    return line ? g_strdup_printf("ok %s", line)
                : g_strdup("error the definitions do not load: still answering from the previous ones (see the "
                           "server's log)");
}

/* The control socket, or (another server has it) none, said so. */
static CnMetadataControl *open_control(ServeContext *ctx)
{
    g_autofree char *name = ctx->socket_dir ? g_strdup(CN_METADATA_CONTROL_USER)
                                            : cn_metadata_control_name(ctx->ovn_network);
    g_autofree char *path = g_build_filename(cn_paths_run_dir(), name, NULL);
    g_autoptr(GError) error = NULL;
    if (g_mkdir_with_parents(cn_paths_run_dir(), 0755) < 0) {
        cn_cli_warning("no control socket: cannot make %s: %s", cn_paths_run_dir(), g_strerror(errno));
        return NULL;
    }
    CnMetadataControl *control = cn_metadata_control_new(path, control_command, ctx, &error);
    if (!control)
        cn_cli_warning("no control socket (metadata set and reload reach another server): %s", error->message);
    return control;
}

static int serve(ServeContext *ctx, char **listen, const CnMetadataLimits *limits);

/* The bridge port pinned to LINK's MAC on its network, or NULL. */
static char *pinned_port(const CnLink *link)
{
    g_autoptr(GArray) ports = NULL;
    g_autoptr(GError) error = NULL;
    gboolean exists;
    if (!link->net || !cn_network_has_isolation(link->net) ||
        !cn_nft_set_elements(link->net->name, NFPROTO_BRIDGE, "port_mac", &ports, &exists, &error))
        return NULL;
    for (guint i = 0; i < ports->len; i++) {
        const CnNftElement *element = &g_array_index(ports, CnNftElement, i);
        if (memcmp(element->key + CN_NFT_PORT_KEY_LEN, link->mac, 6) == 0)
            return g_strndup((const char *)element->key, CN_NFT_PORT_KEY_LEN);
    }
    return NULL;
}

/* metadata-refused, in the event log and to the subscribers. */
static void on_refusal(const CnMetadataRefusal *refusal, gpointer data)
{
    ServeContext *ctx = data;
    g_autoptr(CnEvent) event = cn_event_new("metadata-refused");
    const CnLink *link = refusal->link;
    if (link) {
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(link->mac, mac);
        g_autofree char *port = pinned_port(link);
        cn_event_add_string(event, "network", link->net ? link->net->name : NULL);
        cn_event_add_string(event, "machine", link->machine_name);
        cn_event_add_string(event, "interface", link->iface);
        cn_event_add_string(event, "port", port);
        cn_event_add_string(event, "mac", mac);
    }
    cn_event_add_string(event, "address", refusal->address);
    if (refusal->method) {
        cn_event_add_string(event, "method", refusal->method);
        cn_event_add_string(event, "path", refusal->path);
        g_autofree char *status = g_strdup_printf("%u", refusal->status);
        cn_event_add_raw(event, "status", status);
    }
    cn_event_add_string(event, "reason", refusal->reason);
    g_autofree char *suppressed = g_strdup_printf("%u", refusal->suppressed);
    cn_event_add_raw(event, "suppressed", suppressed);
    g_autoptr(GPtrArray) events = g_ptr_array_new();
    g_ptr_array_add(events, event);
    g_autoptr(GError) error = NULL;
    if (!cn_events_publish(ctx->cli->state_dir, cn_paths_events_dir(), events, &error)) {
        printf("- - - - cannot record a metadata-refused event: %s\n", error->message);
        fflush(stdout);
    }
}

static gboolean quit(gpointer data)
{
    g_main_loop_quit(((ServeContext *)data)->loop);
    return G_SOURCE_CONTINUE; /* removed by metadata_serve */
}

static int metadata_serve(CnCli *cli, char **listen, const char *data_dir, const char *identity_key,
                          const char *hypervisor, const CnMetadataLimits *limits, const char *ovn_network,
                          const char *ovs_db, const char *socket_dir)
{
    /* Signals first: a reload asked for during start-up (systemctl reload
     * right after start) must not kill the server. */
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    ServeContext ctx = { .cli = cli, .data_dir = data_dir, .identity_key = identity_key, .hypervisor = hypervisor,
                         .loop = loop,
                         .ovn_network = ovn_network, .ovs_db = ovs_db, .socket_dir = socket_dir };
    guint hup = g_unix_signal_add(SIGHUP, reload, &ctx);
    guint term = g_unix_signal_add(SIGTERM, quit, &ctx);
    guint interrupt = g_unix_signal_add(SIGINT, quit, &ctx);
    int exit_code = serve(&ctx, listen, limits);
    g_source_remove(hup);
    g_source_remove(interrupt);
    g_source_remove(term);
    return exit_code;
}

/* Asks the northbound database, for each request: an address OVN no
 * longer pins to the link (define gave it to another since the
 * definitions were read) is nobody's; so is everybody while the database
 * cannot be asked. */
static gboolean ovn_pins(const CnLink *link, uint32_t source, gpointer data)
{
    g_autoptr(GError) error = NULL;
    gboolean pinned = FALSE;
    if (!cn_ovn_port_check(data, link, source, &pinned, &error)) {
        char text[CN_V4_STR_MAX];
        cn_v4_format(source, text);
        printf("%s - - - refused: the northbound database cannot say whose it is: %s\n", text, error->message);
        fflush(stdout);
        return FALSE;
    }
    return pinned;
}

/* --ovn: listens in the namespace of this chassis's end of the network's
 * metadata localport, at metadata.address, and takes the end away when
 * it stops. */
static int serve_ovn(ServeContext *ctx, CnMetadataSnapshot *snapshot, const CnMetadataLimits *limits)
{
    g_autoptr(GError) error = NULL;
    const CnNetwork *net = cn_site_find_network(cn_metadata_snapshot_site(snapshot), ctx->ovn_network);
    const CnOvnOptions options = { .northbound = ctx->cli->ovn_nb };
    g_autoptr(CnOvnPortCheck) check = cn_ovn_port_check_new(net, &options);
    g_autoptr(CnMetadataServer) server = cn_metadata_server_new(limits, &ctx->token_key, snapshot);
    cn_metadata_server_set_ovn_network(server, net->name, ovn_pins, check);
    cn_metadata_server_set_refusal_handler(server, on_refusal, ctx);
    CnOvnMetadataEnd end = { .host_netns = -1, .claim = -1 };
    if (!cn_ops_ovn_metadata_attach(net, ctx->ovs_db, &end, &error))
        return cn_cli_fail(error);
    gboolean listening = cn_metadata_server_listen(server, net->metadata_address, net->metadata_port, &error);
    if (!cn_ops_ovn_metadata_leave(&end, listening ? &error : NULL) || !listening) {
        g_autoptr(GError) ignored = NULL;
        cn_ops_ovn_metadata_detach(&end, &ignored);
        return cn_cli_fail(error);
    }
    char host[CN_V4_STR_MAX];
    cn_v4_format(net->metadata_address, host);
    g_autofree char *localport = cn_ovn_metadata_port_name(net->name);
    printf("network %s: listening on %s:%u behind OVN localport %s (link %s)\n", net->name, host, net->metadata_port,
           localport, end.host_name);
    fflush(stdout);
    /* The server holds the definitions (NET among them) until it goes. */
    g_autofree char *name = g_strdup(net->name);
    ctx->server = server;
    g_autoptr(CnMetadataControl) control = open_control(ctx);
    g_main_loop_run(ctx->loop);
    g_clear_pointer(&control, cn_metadata_control_free);
    ctx->server = NULL;
    g_clear_pointer(&server, cn_metadata_server_free);
    if (!cn_ops_ovn_metadata_detach(&end, &error))
        return cn_cli_fail(error);
    printf("network %s: metadata localport's end on this chassis removed\n", name);
    return CN_EXIT_OK;
}

/* --socket-dir: a socket per machine for its user-mode guest; nothing
 * listens when one of them cannot be made (a handler socket missing, a
 * directory that is not ours). */
static int serve_sockets(ServeContext *ctx, CnMetadataSnapshot *snapshot, const CnMetadataLimits *limits)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CnMetadataServer) server = cn_metadata_server_new(limits, &ctx->token_key, snapshot);
    cn_metadata_server_set_refusal_handler(server, on_refusal, ctx);
    ctx->sockets = cn_socket_dir_open(ctx->socket_dir, &error);
    if (!ctx->sockets) {
        cn_cli_error("metadata serve: %s", error->message);
        return g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_EXIST) ? CN_EXIT_BUSY : CN_EXIT_INVALID;
    }
    if (!cn_socket_dir_sync(ctx->sockets, server, cn_metadata_snapshot_site(snapshot), &error)) {
        cn_socket_dir_close(ctx->sockets, server);
        ctx->sockets = NULL;
        cn_cli_error("metadata serve --socket-dir %s: %s", ctx->socket_dir, error->message);
        return CN_EXIT_INVALID;
    }
    if (cn_socket_dir_count(ctx->sockets) == 0)
        cn_cli_warning("metadata serve --socket-dir %s: no machine has a link on a network with metadata = true",
                       ctx->socket_dir);
    fflush(stdout);
    ctx->server = server;
    g_autoptr(CnMetadataControl) control = open_control(ctx);
    g_main_loop_run(ctx->loop);
    g_clear_pointer(&control, cn_metadata_control_free);
    ctx->server = NULL;
    cn_socket_dir_close(ctx->sockets, server);
    ctx->sockets = NULL;
    return CN_EXIT_OK;
}

static int serve(ServeContext *ctx, char **listen, const CnMetadataLimits *limits)
{
    int exit_code;
    g_autoptr(GError) key_error = NULL;
    if (!cn_metadata_token_key_load(cn_paths_run_dir(), &ctx->token_key, &key_error))
        return cn_cli_fail(key_error);
    CnMetadataSnapshot *snapshot = load_snapshot(ctx, &exit_code);
    if (!snapshot)
        return exit_code;
    if (ctx->ovn_network)
        return serve_ovn(ctx, snapshot, limits);
    if (ctx->socket_dir)
        return serve_sockets(ctx, snapshot, limits);
    g_autoptr(GArray) endpoints = NULL;
    if (listen) {
        endpoints = g_array_new(FALSE, FALSE, sizeof(CnEndpoint));
        for (char **item = listen; *item; item++) {
            CnEndpoint endpoint = { 0 };
            if (!cn_endpoint_parse(*item, FALSE, &endpoint)) {
                cn_cli_error("metadata serve: --listen '%s': expected IPv4-ADDRESS:PORT", *item);
                cn_metadata_snapshot_unref(snapshot);
                return CN_EXIT_USAGE;
            }
            g_array_append_val(endpoints, endpoint);
        }
    } else {
        endpoints = cn_metadata_default_endpoints(cn_metadata_snapshot_site(snapshot));
    }
    if (endpoints->len == 0) {
        cn_cli_error("metadata serve: no metadata network with a metadata.handler in the definitions; "
                     "give --listen ADDRESS:PORT");
        cn_metadata_snapshot_unref(snapshot);
        return CN_EXIT_INVALID;
    }

    g_autoptr(CnMetadataServer) server = cn_metadata_server_new(limits, &ctx->token_key, snapshot);
    cn_metadata_server_set_refusal_handler(server, on_refusal, ctx);
    ctx->server = server;
    for (guint i = 0; i < endpoints->len; i++) {
        const CnEndpoint *endpoint = &g_array_index(endpoints, CnEndpoint, i);
        g_autoptr(GError) error = NULL;
        char host[CN_V4_STR_MAX];
        cn_v4_format(endpoint->host, host);
        if (!cn_metadata_server_listen(server, endpoint->host, endpoint->port, &error))
            return cn_cli_fail(error);
        printf("listening on %s:%u\n", host, endpoint->port);
    }
    fflush(stdout);
    g_autoptr(CnMetadataControl) control = open_control(ctx);
    g_main_loop_run(ctx->loop);
    g_clear_pointer(&control, cn_metadata_control_free);
    ctx->server = NULL;
    return CN_EXIT_OK;
}

/* The link MACHINE's documents are answered for: IFACE's, else its first
 * link on a metadata network. */
static const CnLink *show_link(const CnSite *site, const char *machine_name, const char *iface)
{
    const CnMachine *machine = cn_site_find_machine(site, machine_name);
    if (!machine) {
        cn_cli_error("metadata show: no machine '%s' in the definitions", machine_name);
        return NULL;
    }
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (iface ? strcmp(link->iface, iface) == 0 : link->net && link->net->metadata)
            return link;
    }
    if (iface)
        cn_cli_error("metadata show: machine %s has no link '%s'", machine_name, iface);
    else
        cn_cli_error("metadata show: machine %s has no link on a metadata network (give --iface)", machine_name);
    return NULL;
}

static int metadata_show(CnCli *cli, const char *machine, const char *iface, const char *path, const char *data_dir,
                         const char *identity_key, const char *hypervisor)
{
    int exit_code;
    ServeContext ctx = { .cli = cli, .data_dir = data_dir, .identity_key = identity_key, .hypervisor = hypervisor };
    g_autoptr(CnMetadataSnapshot) snapshot = load_snapshot(&ctx, &exit_code);
    if (!snapshot)
        return exit_code;
    const CnLink *link = show_link(cn_metadata_snapshot_site(snapshot), machine, iface);
    if (!link)
        return CN_EXIT_INVALID;
    if (link->v4_source == CN_V4_NONE) {
        cn_cli_error("metadata show: %s %s has no IPv4 address carthage-net knows: metadata serve answers its "
                     "guest 403", machine, link->iface);
        return CN_EXIT_INVALID;
    }
    static const char *const every[] = {
        "/meta-data", "/user-data", "/vendor-data", "/network-config", "/latest/meta-data/",
        "/latest/meta-data/instance-id", "/latest/meta-data/local-hostname", "/latest/meta-data/local-ipv4",
        "/latest/meta-data/public-ipv4", "/latest/meta-data/mac", "/latest/user-data",
        "/latest/dynamic/instance-identity/document", "/latest/dynamic/instance-identity/signature", NULL,
    };
    const char *one[] = { path, NULL };
    const char *const *paths = path ? one : every;
    for (const char *const *p = paths; *p; p++) {
        g_autoptr(GBytes) body = NULL;
        const char *content_type;
        CnMetadataResult result =
            cn_metadata_snapshot_answer(snapshot, link, link->v4_address, *p, &body, &content_type);
        if (path && result != CN_METADATA_FOUND) {
            cn_cli_error("metadata show: %s: 404 not found", path);
            return CN_EXIT_INVALID;
        }
        if (!path)
            printf("== %s: %s\n", *p, result == CN_METADATA_FOUND ? content_type : "404 not found");
        /* The identity document has no line end of its own. */
        gboolean add_newline = !path && body && g_str_has_suffix(*p, "/document");
        if (body) {
            gsize length;
            const char *data = g_bytes_get_data(body, &length);
            fwrite(data, 1, length, stdout);
        }
        if (add_newline)
            putchar('\n');
    }
    return CN_EXIT_OK;
}

/* Asks every metadata serve on this host (their control sockets in the
 * run directory) to reload; prints what each says.  None running: said,
 * and fine (they read it all when they start). */
static int metadata_reload(void)
{
    const char *run_dir = cn_paths_run_dir();
    g_autoptr(GDir) dir = g_dir_open(run_dir, 0, NULL);
    const char *name;
    guint reached = 0, failed = 0;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    while (dir && (name = g_dir_read_name(dir)))
        if (g_str_has_prefix(name, CN_METADATA_CONTROL_PREFIX) && g_str_has_suffix(name, CN_METADATA_CONTROL_SUFFIX))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, cn_compare_string_ptrs);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(run_dir, names->pdata[i], NULL);
        g_autofree char *reply = NULL;
        g_autoptr(GError) error = NULL;
        if (!cn_metadata_control_send(path, "reload", &reply, &error)) {
            if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
                continue; /* a server that went without removing its socket */
            cn_cli_error("%s", error->message);
            failed++;
            continue;
        }
        printf("%s: %s\n", (char *)names->pdata[i], reply);
        reached++;
        if (!g_str_has_prefix(reply, "ok"))
            failed++;
    }
    if (reached == 0 && failed == 0)
        printf("no metadata serve running here: it reads everything when it starts\n");
    return failed ? CN_EXIT_SYSTEM : CN_EXIT_OK;
}

/* FILE's bytes ("-": standard input), at most CN_METADATA_FILE_MAX. */
static GBytes *read_input(const char *file, GError **error)
{
    g_autofree char *text = NULL;
    gsize length = 0;
    if (strcmp(file, "-") == 0) {
        g_autoptr(GIOChannel) in = g_io_channel_unix_new(STDIN_FILENO);
        g_io_channel_set_encoding(in, NULL, NULL);
        if (g_io_channel_read_to_end(in, &text, &length, error) != G_IO_STATUS_NORMAL)
            return NULL;
    } else if (!g_file_get_contents(file, &text, &length, error)) {
        return NULL;
    }
    if (length > CN_METADATA_FILE_MAX) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: larger than %d bytes", file, CN_METADATA_FILE_MAX);
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&text), length);
}

/* metadata set MACHINE: new files in its metadata directory (each written
 * whole, then renamed into place), then every running server reloads. */
static int metadata_set(CnCli *cli, const char *machine_name, const char *data_dir, const char *user_data,
                        const char *vendor_data, const char *instance_id)
{
    int exit_code;
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    if (!cn_site_find_machine(site, machine_name)) {
        cn_cli_error("metadata set: no machine '%s' in the definitions", machine_name);
        return CN_EXIT_INVALID;
    }
    if (!user_data && !vendor_data && !instance_id) {
        cn_cli_error("metadata set: give --user-data, --vendor-data or --instance-id");
        return CN_EXIT_USAGE;
    }
    gboolean id_ok = !instance_id || (*instance_id && strlen(instance_id) <= 128);
    for (const char *c = instance_id; id_ok && c && *c; c++)
        id_ok = g_ascii_isgraph(*c);
    if (!id_ok) {
        cn_cli_error("metadata set: --instance-id must be 1-128 printable characters without spaces");
        return CN_EXIT_USAGE;
    }
    /* Everything read before anything is written: nothing half-applied. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) user = user_data ? read_input(user_data, &error) : NULL;
    g_autoptr(GBytes) vendor = !error && vendor_data ? read_input(vendor_data, &error) : NULL;
    if (error) {
        cn_cli_error("metadata set: %s", error->message);
        return CN_EXIT_INVALID;
    }
    g_autofree char *dir = g_build_filename(data_dir, machine_name, NULL);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        cn_cli_error("metadata set: cannot make %s: %s", dir, g_strerror(errno));
        return CN_EXIT_SYSTEM;
    }
    g_autofree char *id_line = instance_id ? g_strconcat(instance_id, "\n", NULL) : NULL;
    const struct {
        const char *name;
        const void *data;
        gsize length;
        gboolean given;
    } files[] = {
        { "user-data", user ? g_bytes_get_data(user, NULL) : NULL, user ? g_bytes_get_size(user) : 0, user != NULL },
        { "vendor-data", vendor ? g_bytes_get_data(vendor, NULL) : NULL, vendor ? g_bytes_get_size(vendor) : 0,
          vendor != NULL },
        { "instance-id", id_line, id_line ? strlen(id_line) : 0, id_line != NULL },
    };
    /* Each written beside its place first, then all renamed: a failed write
     * leaves the machine's files as they were. */
    g_autoptr(GPtrArray) temporaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    for (gsize i = 0; i < G_N_ELEMENTS(files) && !error; i++) {
        if (!files[i].given)
            continue;
        g_autofree char *temporary = g_strdup_printf("%s/.%s.new.%d", dir, files[i].name, (int)getpid());
        if (g_file_set_contents_full(temporary, files[i].length ? files[i].data : "", (gssize)files[i].length,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error)) {
            g_ptr_array_add(temporaries, g_steal_pointer(&temporary));
            g_ptr_array_add(paths, g_build_filename(dir, files[i].name, NULL));
        }
    }
    for (guint i = 0; i < temporaries->len; i++) {
        const char *temporary = temporaries->pdata[i], *path = paths->pdata[i];
        if (error) {
            unlink(temporary);
        } else if (rename(temporary, path) < 0) {
            g_set_error(&error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot rename %s to %s: %s",
                        temporary, path, g_strerror(errno));
            unlink(temporary);
        } else {
            printf("%s: written\n", path);
        }
    }
    if (error) {
        cn_cli_error("metadata set: %s", error->message);
        return CN_EXIT_SYSTEM;
    }
    return metadata_reload();
}

/* metadata connect SOCKET: stdin and stdout joined to the UNIX socket,
 * for QEMU's guestfwd cmd: (one per guest connection).  Ends when the
 * server has closed its side; the guest's end of the request is passed on
 * as a shutdown, so HTTP/1.0-style requests get their answer. */
static int metadata_connect(const char *path)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof address.sun_path) {
        cn_cli_error("metadata connect: %s is too long for a UNIX socket", path);
        return CN_EXIT_USAGE;
    }
    memcpy(address.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        cn_cli_error("metadata connect: %s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return CN_EXIT_SYSTEM;
    }
    struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
    const int out[2] = { fd, STDOUT_FILENO };
    char buffer[16384];
    gboolean input_open = TRUE;
    for (;;) {
        fds[0].fd = input_open ? STDIN_FILENO : -1;
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (i == 1) {
                    close(fd);
                    return CN_EXIT_OK; /* the server is done */
                }
                input_open = FALSE;
                shutdown(fd, SHUT_WR);
                continue;
            }
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(out[i], buffer + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    close(fd);
                    return CN_EXIT_OK; /* the other side is gone */
                }
                done += w;
            }
        }
    }
    close(fd);
    return CN_EXIT_SYSTEM;
}

/* metadata release MACHINE: the user-mode server drops MACHINE's socket
 * (its VM is gone); a reload makes it again while MACHINE is defined. */
static int metadata_release(const char *machine)
{
    if (!cn_dns_name_is_valid(machine)) {
        cn_cli_error("metadata release: '%s' is not a machine name", machine);
        return CN_EXIT_USAGE;
    }
    g_autofree char *path = g_build_filename(cn_paths_run_dir(), CN_METADATA_CONTROL_USER, NULL);
    g_autofree char *command = g_strdup_printf("release %s", machine);
    g_autofree char *reply = NULL;
    g_autoptr(GError) error = NULL;
    if (!cn_metadata_control_send(path, command, &reply, &error)) {
        cn_cli_error("metadata release: no metadata serve --socket-dir reached (%s)", error->message);
        return CN_EXIT_SYSTEM;
    }
    if (!g_str_has_prefix(reply, "ok ")) {
        cn_cli_error("metadata release: %s", g_str_has_prefix(reply, "error ") ? reply + 6 : reply);
        return CN_EXIT_INVALID;
    }
    printf("%s\n", reply + 3);
    return CN_EXIT_OK;
}

/* metadata keygen [--rotate]: the identity key, made when missing (or
 * replaced, the old one kept as .previous); prints its public key and id
 * for the verifiers. */
static int metadata_keygen(const char *path, gboolean rotate)
{
    g_autoptr(GError) error = NULL;
    gboolean created;
    if (!cn_metadata_signer_generate(path, rotate, &created, &error))
        return cn_cli_fail(error);
    g_autoptr(CnMetadataSigner) signer = cn_metadata_signer_load(path, &error);
    if (!signer)
        return cn_cli_fail(error);
    fprintf(stderr, "%s: %s (%s)\n", path, created ? (rotate ? "new key; the old one is in .previous" : "new key")
                                                    : "kept (--rotate replaces it)",
            cn_metadata_signer_key_id(signer));
    fputs(cn_metadata_signer_public_pem(signer), stdout);
    return CN_EXIT_OK;
}

int cn_cmd_metadata(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "metadata", "serve [--listen ADDR:PORT]... | serve --ovn NETWORK | serve --socket-dir DIR | "
                    "connect SOCKET | release MACHINE | show MACHINE [PATH] | "
                    "set MACHINE [--user-data FILE] [--vendor-data FILE] [--instance-id ID] | reload | "
                    "keygen [--rotate]",
        "The built-in metadata handler: cloud-init NoCloud and EC2-style documents for the guest that "
        "calls, known by its pinned source address.", NULL
    };
    g_auto(GStrv) listen = NULL;
    g_autofree char *data_dir_option = NULL, *iface = NULL, *ovn_network = NULL, *ovs_db = NULL;
    g_autofree char *identity_key_option = NULL, *hypervisor = NULL, *socket_dir = NULL;
    g_autofree char *user_data = NULL, *vendor_data = NULL, *instance_id = NULL;
    gboolean rotate = FALSE;
    CnMetadataLimits limits = CN_METADATA_LIMITS_DEFAULT;
    gint max_connections = (gint)limits.max_connections, max_per_guest = (gint)limits.max_per_guest;
    gint timeout = (gint)limits.timeout_seconds, max_request = (gint)limits.max_request_bytes;
    gint log_burst = (gint)limits.log_burst;
    const GOptionEntry entries[] = {
        { "listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &listen,
          "serve: listen on ADDR:PORT (repeatable; default: every metadata network's handler)", "ADDR:PORT" },
        { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir_option,
          "Per-machine files: DIR/MACHINE/{user-data,vendor-data,instance-id} (default $CARTHAGE_NET_METADATA_DIR, "
          "else " CN_PATHS_METADATA_DIR ")",
          "DIR" },
        { "iface", 0, 0, G_OPTION_ARG_STRING, &iface, "show: answer as the guest on this link", "IFACE" },
        { "identity-key", 0, 0, G_OPTION_ARG_FILENAME, &identity_key_option,
          "The Ed25519 key that signs instance identity documents (default $CARTHAGE_NET_IDENTITY_KEY, else "
          CN_PATHS_IDENTITY_KEY "; none there: no identity documents)",
          "FILE" },
        { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &user_data, "set: the machine's new user-data (- for stdin)",
          "FILE" },
        { "vendor-data", 0, 0, G_OPTION_ARG_FILENAME, &vendor_data, "set: the machine's new vendor-data", "FILE" },
        { "instance-id", 0, 0, G_OPTION_ARG_STRING, &instance_id, "set: the machine's new instance-id", "ID" },
        { "hypervisor-name", 0, 0, G_OPTION_ARG_STRING, &hypervisor,
          "serve, show: the host's name in identity documents (default: the host name)", "NAME" },
        { "rotate", 0, 0, G_OPTION_ARG_NONE, &rotate, "keygen: replace the key (the old one goes to FILE.previous)",
          NULL },
        { "ovn", 0, 0, G_OPTION_ARG_STRING, &ovn_network,
          "serve: this chassis's end of OVN network NETWORK's metadata localport, at its metadata.address",
          "NETWORK" },
        { "ovs-db", 0, 0, G_OPTION_ARG_STRING, &ovs_db,
          "serve --ovn: this host's Open vSwitch database (default " "unix:/var/run/openvswitch/db.sock" ")",
          "REMOTE" },
        { "socket-dir", 0, 0, G_OPTION_ARG_FILENAME, &socket_dir,
          "serve: a UNIX socket per machine in DIR for QEMU user-mode guests (render netdev --user), not addresses "
          "(default for --socket-dir=: $CARTHAGE_NET_SOCKET_DIR, else RUN/metadata)",
          "DIR" },
        { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, "serve: open connections, all guests", "N" },
        { "max-per-guest", 0, 0, G_OPTION_ARG_INT, &max_per_guest, "serve: open connections per guest", "N" },
        { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
          "serve: seconds a connection has for each request, idle time included", "SECONDS" },
        { "max-request-bytes", 0, 0, G_OPTION_ARG_INT, &max_request,
          "serve: bytes a request may have (request line, headers, body)", "BYTES" },
        { "log-burst", 0, 0, G_OPTION_ARG_INT, &log_burst,
          "serve: log lines per guest per 10 seconds; the rest are counted", "N" },
        { NULL },
    };
    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    const char *data_dir = data_dir_option ? data_dir_option : cn_paths_metadata_dir();
    const char *identity_key = identity_key_option ? identity_key_option : cn_paths_identity_key();
    if (!hypervisor)
        hypervisor = g_strdup(g_get_host_name());
    if (max_connections < 1 || max_per_guest < 1 || timeout < 1 || max_request < 256 || log_burst < 1) {
        cn_cli_error("metadata: limits must be at least 1 (connections, seconds, log lines) and 256 (bytes)");
        return CN_EXIT_USAGE;
    }
    limits.max_connections = (guint)max_connections;
    limits.max_per_guest = (guint)max_per_guest;
    limits.timeout_seconds = (guint)timeout;
    limits.max_request_bytes = (gsize)max_request;
    limits.log_burst = (guint)log_burst;
    if (socket_dir && !*socket_dir) { /* --socket-dir= */
        g_free(socket_dir);
        socket_dir = g_strdup(cn_paths_socket_dir());
    }
    if (argc == 2 && strcmp(argv[1], "serve") == 0 && !(ovn_network && listen) &&
        !(socket_dir && (listen || ovn_network)))
        return metadata_serve(cli, listen, data_dir, identity_key, hypervisor, &limits, ovn_network, ovs_db,
                              socket_dir);
    if (argc == 3 && strcmp(argv[1], "connect") == 0 && !listen && !ovn_network && !socket_dir)
        return metadata_connect(argv[2]);
    if (argc == 3 && strcmp(argv[1], "release") == 0 && !listen && !ovn_network && !socket_dir)
        return metadata_release(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "show") == 0 && !listen)
        return metadata_show(cli, argv[2], iface, argc == 4 ? argv[3] : NULL, data_dir, identity_key, hypervisor);
    if (argc == 2 && strcmp(argv[1], "keygen") == 0 && !listen && !ovn_network)
        return metadata_keygen(identity_key, rotate);
    if (argc == 3 && strcmp(argv[1], "set") == 0 && !listen && !ovn_network)
        return metadata_set(cli, argv[2], data_dir, user_data, vendor_data, instance_id);
    if (argc == 2 && strcmp(argv[1], "reload") == 0 && !listen && !ovn_network)
        return metadata_reload();
    cn_cli_error("usage: carthage-net metadata serve [--listen ADDR:PORT]... | metadata serve --ovn NETWORK "
                 "[--ovs-db REMOTE] | metadata serve --socket-dir DIR | metadata connect SOCKET | metadata release MACHINE | "
                 "metadata show MACHINE [--iface IFACE] [PATH] | metadata set MACHINE "
                 "[--user-data FILE] [--vendor-data FILE] [--instance-id ID] | metadata reload | metadata keygen "
                 "[--rotate]");
    return CN_EXIT_USAGE;
}

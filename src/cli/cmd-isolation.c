/* cmd-isolation.c - carthage-net isolation apply|remove|attach|detach:
 * the nftables engine driven from the definitions (the hook drives it from
 * libvirt's events; these are for repair, tests and operators). */
#include <stdio.h>
#include <string.h>

#include "config.h"

#include "cli.h"
#include "json-writer.h"
#include "paths.h"
#include "hook-record.h"
#include "netaddr.h"
#include "nft.h"
#include "virt.h"

#include <linux/netfilter.h>

static CnNetwork *find_isolated_network(CnSite *site, const char *name)
{
    CnNetwork *net = cn_site_find_network(site, name);
    if (!net)
        cn_cli_error("unknown network '%s'", name);
    else if (!cn_network_has_isolation(net)) {
        cn_cli_error("network %s is openvswitch: nftables does not see traffic switched inside Open "
                     "vSwitch", name);
        net = NULL;
    }
    return net;
}

/* isolation show: what the kernel has of each network, read back from
 * the sets, then printed as text or JSON. */
typedef struct {
    char *port;
    char mac[CN_MAC_STR_MAX];
    gboolean pinned;
    char *handler;    /* "A.B.C.D:PORT", or NULL */
    GPtrArray *ipv6;  /* char* */
    guint64 forged;   /* frames dropped as forged, in the last minute's counter (@spoofers) */
} GuestView;

typedef struct {
    const char *name;
    char *table;
    gboolean bridge_table, inet_table;
    GPtrArray *guests;   /* GuestView* */
    GPtrArray *reserved; /* char*: "A.B.C.D MAC" pairs, as address then mac */
    guint handlers;
    GPtrArray *drops;    /* CnNftDropCount*: what each drop rule has counted */
} NetworkView;

static void guest_view_free(gpointer data)
{
    GuestView *guest = data;
    g_free(guest->port);
    g_free(guest->handler);
    g_ptr_array_unref(guest->ipv6);
    g_free(guest);
}

static void network_view_free(gpointer data)
{
    NetworkView *view = data;
    g_free(view->table);
    g_ptr_array_unref(view->guests);
    g_ptr_array_unref(view->reserved);
    g_ptr_array_unref(view->drops);
    g_free(view);
}

static gboolean same_port(const CnNftElement *a, const CnNftElement *b)
{
    return memcmp(a->key, b->key, CN_NFT_PORT_KEY_LEN) == 0;
}

static NetworkView *read_view(const CnNetwork *net, GError **error)
{
    g_autoptr(GArray) ports = NULL, pinned = NULL, reserved = NULL, handlers = NULL, v6 = NULL, spoofers = NULL;
    g_autoptr(GPtrArray) drops = NULL;
    gboolean bridge_exists, inet_exists, unused;
    if (!cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "port_mac", &ports, &bridge_exists, error) ||
        !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "pinned_ip", &pinned, &unused, error) ||
        !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "reserved", &reserved, &unused, error) ||
        !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "port_ip6", &v6, &unused, error) ||
        !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "spoofers", &spoofers, &unused, error) ||
        !cn_nft_set_elements(net->name, NFPROTO_INET, "handlers", &handlers, &inet_exists, error) ||
        !cn_nft_read_drops(net->name, &drops, error))
        return NULL;
    NetworkView *view = g_new0(NetworkView, 1);
    view->name = net->name;
    view->table = cn_nft_table_name(net->name);
    view->bridge_table = bridge_exists;
    view->inet_table = inet_exists;
    view->guests = g_ptr_array_new_with_free_func(guest_view_free);
    view->reserved = g_ptr_array_new_with_free_func(g_free);
    view->handlers = handlers->len;
    view->drops = g_steal_pointer(&drops);
    for (guint i = 0; i < ports->len; i++) {
        const CnNftElement *e = &g_array_index(ports, CnNftElement, i);
        GuestView *guest = g_new0(GuestView, 1);
        guest->port = g_strndup((const char *)e->key, CN_NFT_PORT_KEY_LEN);
        cn_mac_format(e->key + CN_NFT_PORT_KEY_LEN, guest->mac);
        for (guint k = 0; k < pinned->len; k++)
            guest->pinned |= same_port(&g_array_index(pinned, CnNftElement, k), e);
        for (guint k = 0; k < spoofers->len; k++)
            if (same_port(&g_array_index(spoofers, CnNftElement, k), e))
                guest->forged = g_array_index(spoofers, CnNftElement, k).packets;
        for (guint k = 0; k < handlers->len; k++) {
            const CnNftElement *h = &g_array_index(handlers, CnNftElement, k);
            if (memcmp(h->key, e->key + CN_NFT_PORT_KEY_LEN, 6) == 0) {
                g_autofree char *text = cn_nft_element_format("handlers", h);
                /* "MAC : A.B.C.D . PORT" -> "A.B.C.D:PORT" */
                g_auto(GStrv) words = g_strsplit(strstr(text, " : ") + 3, " . ", 2);
                guest->handler = g_strdup_printf("%s:%s", words[0], words[1]);
            }
        }
        guest->ipv6 = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; k < v6->len; k++) {
            const CnNftElement *a = &g_array_index(v6, CnNftElement, k);
            if (same_port(a, e)) {
                g_autofree char *text = cn_nft_element_format("port_ip6", a);
                g_ptr_array_add(guest->ipv6, g_strdup(strstr(text, " . ") + 3));
            }
        }
        g_ptr_array_sort(guest->ipv6, cn_compare_string_ptrs);
        g_ptr_array_add(view->guests, guest);
    }
    for (guint i = 0; i < reserved->len; i++)
        g_ptr_array_add(view->reserved, cn_nft_element_format("reserved", &g_array_index(reserved, CnNftElement, i)));
    return view;
}

static void print_views_text(GPtrArray *views)
{
    printf("%-16s %-22s %7s %9s %9s\n", "NETWORK", "TABLES", "GUESTS", "RESERVED", "HANDLERS");
    for (guint i = 0; i < views->len; i++) {
        const NetworkView *view = views->pdata[i];
        g_autofree char *tables = g_strdup_printf("%s%s%s", view->bridge_table ? "bridge" : "",
                                                  view->bridge_table && view->inet_table ? "+inet "
                                                                                         : (view->bridge_table ? " " : ""),
                                                  view->bridge_table || view->inet_table ? view->table : "-");
        printf("%-16s %-22s %7u %9u %9u\n", view->name, tables, view->guests->len, view->reserved->len, view->handlers);
        for (guint j = 0; j < view->guests->len; j++) {
            const GuestView *guest = view->guests->pdata[j];
            g_autofree char *v6 = NULL;
            if (guest->ipv6->len) {
                g_ptr_array_add(guest->ipv6, NULL);
                g_autofree char *list = g_strjoinv(",", (char **)guest->ipv6->pdata);
                g_ptr_array_set_size(guest->ipv6, guest->ipv6->len - 1);
                v6 = g_strdup_printf(" ipv6 %s", list);
            }
            g_autofree char *forged = guest->forged ? g_strdup_printf(" forged %" G_GUINT64_FORMAT, guest->forged)
                                                    : NULL;
            printf("  guest %-15s %s%s%s%s%s%s\n", guest->port, guest->mac, guest->pinned ? " addresses pinned" : "",
                   guest->handler ? " handler " : "", guest->handler ? guest->handler : "", v6 ? v6 : "",
                   forged ? forged : "");
        }
        /* Only the reasons something was dropped for (--json has all). */
        for (guint j = 0; j < view->drops->len; j++) {
            const CnNftDropCount *drop = view->drops->pdata[j];
            if (drop->packets)
                printf("  dropped %" G_GUINT64_FORMAT " packet(s), %" G_GUINT64_FORMAT " bytes: %s %s: %s\n",
                       drop->packets, drop->bytes, drop->family, drop->chain, drop->rule);
        }
    }
}

static void print_views_json(GPtrArray *views)
{
    g_autoptr(CnJson) json = cn_json_new();
    cn_json_begin_object(json);
    cn_json_member_uint(json, "version", 1);
    cn_json_key(json, "networks");
    cn_json_begin_array(json);
    for (guint i = 0; i < views->len; i++) {
        const NetworkView *view = views->pdata[i];
        cn_json_begin_object(json);
        cn_json_member_string(json, "name", view->name);
        cn_json_member_string(json, "table", view->table);
        cn_json_member_bool(json, "bridge_table", view->bridge_table);
        cn_json_member_bool(json, "inet_table", view->inet_table);
        cn_json_key(json, "guests");
        cn_json_begin_array(json);
        for (guint j = 0; j < view->guests->len; j++) {
            const GuestView *guest = view->guests->pdata[j];
            cn_json_begin_object(json);
            cn_json_member_string(json, "port", guest->port);
            cn_json_member_string(json, "mac", guest->mac);
            cn_json_member_bool(json, "addresses_pinned", guest->pinned);
            cn_json_member_string(json, "handler", guest->handler);
            cn_json_key(json, "ipv6");
            cn_json_begin_array(json);
            for (guint k = 0; k < guest->ipv6->len; k++)
                cn_json_string(json, guest->ipv6->pdata[k]);
            cn_json_end_array(json);
            cn_json_member_uint(json, "forged", guest->forged);
            cn_json_end_object(json);
        }
        cn_json_end_array(json);
        cn_json_key(json, "reserved");
        cn_json_begin_array(json);
        for (guint j = 0; j < view->reserved->len; j++) {
            g_auto(GStrv) pair = g_strsplit(view->reserved->pdata[j], " . ", 2);
            cn_json_begin_object(json);
            cn_json_member_string(json, "address", pair[0]);
            cn_json_member_string(json, "mac", pair[1]);
            cn_json_end_object(json);
        }
        cn_json_end_array(json);
        cn_json_key(json, "drops");
        cn_json_begin_array(json);
        for (guint j = 0; j < view->drops->len; j++) {
            const CnNftDropCount *drop = view->drops->pdata[j];
            cn_json_begin_object(json);
            cn_json_member_string(json, "family", drop->family);
            cn_json_member_string(json, "chain", drop->chain);
            cn_json_member_string(json, "rule", drop->rule);
            cn_json_member_uint(json, "packets", drop->packets);
            cn_json_member_uint(json, "bytes", drop->bytes);
            cn_json_end_object(json);
        }
        cn_json_end_array(json);
        cn_json_end_object(json);
    }
    cn_json_end_array(json);
    cn_json_end_object(json);
    printf("%s\n", cn_json_text(json));
}

static int show(CnCli *cli, CnSite *site)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func(network_view_free);
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (!cn_network_has_isolation(net))
            continue;
        NetworkView *view = read_view(net, &error);
        if (!view)
            return cn_cli_fail(error);
        g_ptr_array_add(views, view);
    }
    if (cli->json)
        print_views_json(views);
    else
        print_views_text(views);
    return CN_EXIT_OK;
}

/* isolation dump: the netlink messages apply (or attach and detach)
 * would send, as text; needs no privileges and changes nothing. */
static int dump(CnSite *site, int argc, char **argv)
{
    if (argc == 4) {
        CnNetwork *net = find_isolated_network(site, argv[0]);
        if (!net)
            return CN_EXIT_INVALID;
        CnLink *link = cn_site_find_link(site, argv[2], argv[3]);
        if (!link || link->net != net) {
            cn_cli_error("no link of machine '%s' interface '%s' on network %s", argv[2], argv[3], net->name);
            return CN_EXIT_INVALID;
        }
        if (!cn_ifname_is_valid(argv[1])) {
            cn_cli_error("'%s' is not an interface name", argv[1]);
            return CN_EXIT_USAGE;
        }
        g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
        g_autoptr(CnIsoGuest) guest = cn_iso_guest_from_link(link, argv[1]);
        g_autofree char *text = cn_nft_guest_dump(iso, guest);
        fputs(text, stdout);
        return CN_EXIT_OK;
    }
    g_autoptr(GPtrArray) selected = cn_cli_select_networks(site, argv, argc);
    if (!selected)
        return CN_EXIT_INVALID;
    for (guint i = 0; i < selected->len; i++) {
        const CnNetwork *net = selected->pdata[i];
        if (!cn_network_has_isolation(net))
            continue;
        g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
        g_autofree char *text = cn_nft_network_apply_dump(iso, NULL);
        printf("# network %s\n%s", net->name, text);
    }
    return CN_EXIT_OK;
}

int cn_cmd_isolation(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "isolation", "show [--json] | apply [NETWORK…] | remove NETWORK… | attach NETWORK TAP MACHINE IFACE | "
                     "attach NETWORK TAP --mac MAC | detach NETWORK TAP MAC | dump [NETWORK…] | "
                     "dump NETWORK TAP MACHINE IFACE",
        "The nftables isolation of carthage-net networks (what the hook does).", NULL
    };
    g_autofree char *mac_text = NULL;
    const GOptionEntry entries[] = {
        { "mac", 0, 0, G_OPTION_ARG_STRING, &mac_text, "attach: a guest carthage-net did not render", "MAC" },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc < 2) {
        cn_cli_error("usage: carthage-net isolation %s", self.synopsis);
        return CN_EXIT_USAGE;
    }
    const char *verb = argv[1];
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    if (strcmp(verb, "show") == 0)
        return show(cli, site);
    if (strcmp(verb, "dump") == 0)
        return dump(site, argc - 2, argv + 2);

    if (strcmp(verb, "apply") == 0 || strcmp(verb, "remove") == 0) {
        gboolean apply = verb[0] == 'a';
        g_autoptr(GPtrArray) selected = NULL;
        if (argc > 2 || !apply)
            selected = cn_cli_select_networks(site, argv + 2, argc - 2);
        else
            selected = cn_cli_select_networks(site, NULL, 0);
        if (!selected)
            return CN_EXIT_INVALID;
        if (!apply && selected->len == 0) {
            cn_cli_error("isolation remove: name the networks");
            return CN_EXIT_USAGE;
        }
        for (guint i = 0; i < selected->len; i++) {
            const CnNetwork *net = selected->pdata[i];
            if (!cn_network_has_isolation(net))
                continue;
            if (apply) {
                g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
                if (!cn_nft_network_apply(iso, NULL, &error))
                    return cn_cli_fail(error);
            } else if (!cn_nft_network_remove(net->name, &error)) {
                return cn_cli_fail(error);
            }
            g_autofree char *table = cn_nft_table_name(net->name);
            printf("network %s: %s tables %s\n", net->name, apply ? "applied" : "removed", table);
        }
        return CN_EXIT_OK;
    }

    gboolean attach = strcmp(verb, "attach") == 0;
    if (!attach && strcmp(verb, "detach") != 0) {
        cn_cli_error("isolation: unknown action '%s' (show, apply, remove, attach, detach, dump)", verb);
        return CN_EXIT_USAGE;
    }
    if (argc < 4) {
        cn_cli_error("usage: carthage-net isolation %s", self.synopsis);
        return CN_EXIT_USAGE;
    }
    CnNetwork *net = find_isolated_network(site, argv[2]);
    if (!net)
        return CN_EXIT_INVALID;
    const char *tap = argv[3];
    if (!cn_ifname_is_valid(tap)) {
        cn_cli_error("'%s' is not an interface name", tap);
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnIsoGuest) guest = NULL;
    uint8_t mac[6];
    if (argc == 6) {
        CnLink *link = cn_site_find_link(site, argv[4], argv[5]);
        if (!link || link->net != net) {
            cn_cli_error("no link of machine '%s' interface '%s' on network %s", argv[4], argv[5], net->name);
            return CN_EXIT_INVALID;
        }
        guest = cn_iso_guest_from_link(link, tap);
    } else if (argc == 5 || mac_text) {
        const char *text = argc == 5 ? argv[4] : mac_text;
        if (!cn_mac_parse(text, mac)) {
            cn_cli_error("'%s' is not a MAC address", text);
            return CN_EXIT_USAGE;
        }
        guest = cn_iso_guest_new(tap, mac);
    } else {
        cn_cli_error("usage: carthage-net isolation %s", self.synopsis);
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
    if (!(attach ? cn_nft_guest_add(iso, guest, &error) : cn_nft_guest_remove(iso, guest, &error)))
        return cn_cli_fail(error);
    return CN_EXIT_OK;
}

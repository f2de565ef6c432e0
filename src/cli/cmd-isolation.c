/* cmd-isolation.c - carthage-net isolation apply|remove|attach|detach:
 * the nftables engine driven from the definitions (the hook drives it from
 * libvirt's events; these are for repair, tests and operators). */
#include <stdio.h>
#include <string.h>

#include "config.h"

#include "cli.h"
#include "paths.h"
#include "hook-record.h"
#include "netaddr.h"
#include "nft.h"
#include "virt.h"

#include <linux/netfilter.h>

static int fail(GError *error)
{
    cn_cli_error("%s", error->message);
    return CN_EXIT_SYSTEM;
}

static CnNetwork *find_isolated_network(CnSite *site, const char *name)
{
    CnNetwork *net = cn_site_find_network(site, name);
    if (!net)
        cn_cli_error("unknown network '%s'", name);
    else if (net->technology == CN_TECH_OPENVSWITCH) {
        cn_cli_error("network %s is openvswitch: nftables does not see traffic switched inside Open "
                     "vSwitch", name);
        net = NULL;
    }
    return net;
}

/* "tap" from a 16-byte ifname key */
static char *key_ifname(const uint8_t *key)
{
    return g_strndup((const char *)key, 16);
}

static void format_mac_at(const uint8_t *bytes, char out[CN_MAC_STR_MAX])
{
    cn_mac_format(bytes, out);
}

static uint32_t be32_at(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/* isolation show: what the kernel has, read back from the sets. */
static int show(CnCli *cli, CnSite *site)
{
    g_autoptr(GError) error = NULL;
    GString *json = g_string_new("{\"version\":1,\"networks\":[");
    guint shown = 0;

    if (!cli->json)
        printf("%-16s %-22s %7s %9s %9s\n", "NETWORK", "TABLES", "GUESTS", "RESERVED", "HANDLERS");
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (!cn_network_has_isolation(net))
            continue;
        g_autoptr(GArray) ports = NULL, pinned = NULL, reserved = NULL, handlers = NULL, v6 = NULL;
        gboolean bridge_exists, inet_exists, unused;
        if (!cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "port_mac", &ports, &bridge_exists, &error) ||
            !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "pinned_ip", &pinned, &unused, &error) ||
            !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "reserved", &reserved, &unused, &error) ||
            !cn_nft_set_elements(net->name, NFPROTO_BRIDGE, "port_ip6", &v6, &unused, &error) ||
            !cn_nft_set_elements(net->name, NFPROTO_INET, "handlers", &handlers, &inet_exists, &error)) {
            g_string_free(json, TRUE);
            return fail(error);
        }
        g_autofree char *table = cn_nft_table_name(net->name);
        g_autofree char *tables = g_strdup_printf("%s%s%s", bridge_exists ? "bridge" : "",
                                                  bridge_exists && inet_exists ? "+inet " : (bridge_exists ? " " : ""),
                                                  bridge_exists || inet_exists ? table : "-");
        if (!cli->json)
            printf("%-16s %-22s %7u %9u %9u\n", net->name, tables, ports->len, reserved->len, handlers->len);
        g_string_append_printf(json, "%s{\"name\":\"%s\",\"table\":\"%s\",\"bridge_table\":%s,"
                               "\"inet_table\":%s,\"guests\":[", shown++ ? "," : "", net->name, table,
                               bridge_exists ? "true" : "false", inet_exists ? "true" : "false");
        for (guint j = 0; j < ports->len; j++) {
            const CnNftElement *e = &g_array_index(ports, CnNftElement, j);
            g_autofree char *port = key_ifname(e->key);
            char mac[CN_MAC_STR_MAX];
            format_mac_at(e->key + 16, mac);
            gboolean is_pinned = FALSE;
            for (guint k = 0; k < pinned->len; k++)
                is_pinned |= memcmp(g_array_index(pinned, CnNftElement, k).key, e->key, 16) == 0;
            GString *handler = g_string_new(NULL);
            for (guint k = 0; k < handlers->len; k++) {
                const CnNftElement *h = &g_array_index(handlers, CnNftElement, k);
                if (memcmp(h->key, e->key + 16, 6) == 0) {
                    char host[CN_V4_STR_MAX];
                    cn_v4_format(be32_at(h->data), host);
                    g_string_append_printf(handler, "%s:%u", host, (unsigned)(h->data[4] << 8 | h->data[5]));
                }
            }
            /* Its IPv6 addresses (ipv6 = pinned). */
            GString *v6_text = g_string_new(NULL), *v6_json = g_string_new(NULL);
            for (guint k = 0; k < v6->len; k++) {
                const CnNftElement *a = &g_array_index(v6, CnNftElement, k);
                if (memcmp(a->key, e->key, 16) != 0)
                    continue;
                CnV6Address address;
                char text[CN_V6_STR_MAX];
                memcpy(address.bytes, a->key + 16, 16);
                cn_v6_format(&address, text);
                g_string_append_printf(v6_text, "%s%s", v6_text->len ? "," : " ipv6 ", text);
                g_string_append_printf(v6_json, "%s\"%s\"", v6_json->len ? "," : "", text);
            }
            if (!cli->json)
                printf("  guest %-15s %s%s%s%s%s\n", port, mac, is_pinned ? " addresses pinned" : "",
                       handler->len ? " handler " : "", handler->str, v6_text->str);
            g_string_append_printf(json, "%s{\"port\":\"%s\",\"mac\":\"%s\",\"addresses_pinned\":%s,"
                                   "\"handler\":%s%s%s,\"ipv6\":[%s]}", j ? "," : "", port, mac,
                                   is_pinned ? "true" : "false", handler->len ? "\"" : "",
                                   handler->len ? handler->str : "null", handler->len ? "\"" : "", v6_json->str);
            g_string_free(handler, TRUE);
            g_string_free(v6_text, TRUE);
            g_string_free(v6_json, TRUE);
        }
        g_string_append(json, "],\"reserved\":[");
        for (guint j = 0; j < reserved->len; j++) {
            const CnNftElement *e = &g_array_index(reserved, CnNftElement, j);
            char address[CN_V4_STR_MAX], mac[CN_MAC_STR_MAX];
            cn_v4_format(be32_at(e->key), address);
            format_mac_at(e->key + 4, mac);
            g_string_append_printf(json, "%s{\"address\":\"%s\",\"mac\":\"%s\"}", j ? "," : "", address, mac);
        }
        g_string_append(json, "]}");
    }
    g_string_append(json, "]}\n");
    if (cli->json)
        fputs(json->str, stdout);
    g_string_free(json, TRUE);
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
            if (net->technology == CN_TECH_OPENVSWITCH)
                continue;
            if (apply) {
                g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(net);
                if (!cn_nft_network_apply(iso, NULL, &error))
                    return fail(error);
            } else if (!cn_nft_network_remove(net->name, &error)) {
                return fail(error);
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
        return fail(error);
    return CN_EXIT_OK;
}

/* render-metadata.c - carthage-net's own data inside libvirt <metadata>.
 *
 * The hook reads this instead of our definitions, so it must hold all the
 * hook needs and stay cheap to parse: one element per network or machine,
 * one child per guest link, plain attributes, space-separated lists.  The
 * attribute names are a contract with hooks/ (docs/metadata-xml.md).
 */
#include "alloc.h"
#include "netaddr.h"
#include "render.h"

static xmlNodePtr new_cn_element(xmlDocPtr doc, const char *name, xmlNsPtr *ns)
{
    xmlNodePtr node = xmlNewDocNode(doc, NULL, (const xmlChar *)name, NULL);
    *ns = xmlNewNs(node, (const xmlChar *)CN_XML_NS, (const xmlChar *)CN_XML_PREFIX);
    xmlSetNs(node, *ns);
    cn_xml_set(node, "version", "1");
    return node;
}

static void set_endpoint(xmlNodePtr node, const char *name, CnEndpoint endpoint)
{
    char text[CN_ENDPOINT_STR_MAX];
    if (!endpoint.set)
        return;
    cn_endpoint_format(endpoint, text);
    cn_xml_set(node, name, text);
}

/* Every IPv4 address the guest may use on this link, primary first. */
static void set_link_addresses(xmlNodePtr node, const CnLink *link)
{
    GString *allowed = g_string_new(NULL);
    GString *nat = g_string_new(NULL);
    char text[CN_V4_STR_MAX], public_text[CN_V4_STR_MAX];

    if (link->v4_source != CN_V4_NONE && link->v4_address) {
        cn_v4_format(link->v4_address, text);
        g_string_append(allowed, text);
        if (link->v4_public_address) {
            cn_v4_format(link->v4_public_address, public_text);
            g_string_append_printf(nat, "%s=%s", text, public_text);
        }
    }
    for (guint i = 0; i < link->v4_secondary->len; i++) {
        const CnSecondaryAddress *secondary = &g_array_index(link->v4_secondary, CnSecondaryAddress, i);
        cn_v4_format(secondary->private_address, text);
        g_string_append_printf(allowed, "%s%s", allowed->len ? " " : "", text);
        if (secondary->public_address) {
            cn_v4_format(secondary->public_address, public_text);
            g_string_append_printf(nat, "%s%s=%s", nat->len ? " " : "", text, public_text);
        }
    }
    if (allowed->len)
        cn_xml_set(node, "ipv4", allowed->str);
    if (nat->len)
        cn_xml_set(node, "nat", nat->str);
    g_string_free(allowed, TRUE);
    g_string_free(nat, TRUE);
}

xmlNodePtr cn_render_network_metadata(xmlDocPtr doc, const CnNetwork *net)
{
    xmlNsPtr ns;
    xmlNodePtr root = new_cn_element(doc, "network", &ns);
    cn_xml_set(root, "name", net->name);
    cn_xml_set(root, "technology", cn_technology_name(net->technology));
    if (net->bridge_name)
        cn_xml_set(root, "bridge", net->bridge_name);
    if (net->isolate_guests)
        cn_xml_set(root, "isolate-guests", "yes");
    if (net->metadata) {
        char address[CN_V4_STR_MAX];
        cn_v4_format(net->metadata_address, address);
        cn_xml_setf(root, "metadata", "%s:%u", address, net->metadata_port);
        set_endpoint(root, "handler", net->metadata_handler);
    }
    if (net->has_v4) {
        char network[CN_V4_STR_MAX];
        cn_v4_format(net->v4_subnet.network, network);
        cn_xml_setf(root, "ipv4", "%s/%u", network, net->v4_subnet.prefix);
        cn_xml_set_v4(root, "gateway", net->v4_gateway);
    }
    if (cn_network_has_isolation(net)) {
        /* The layer-2 guards of the guest ports (nft.h). */
        cn_xml_set(root, "ipv6", cn_ipv6_mode_name(net->ipv6));
        if (net->has_v6) {
            char prefix[CN_V6_STR_MAX];
            cn_v6_format(&net->v6_subnet.network, prefix);
            cn_xml_setf(root, "ipv6-network", "%s/%u", prefix, net->v6_subnet.prefix);
        }
        if (net->allowed_ethertypes->len) {
            GString *types = g_string_new(NULL);
            for (guint i = 0; i < net->allowed_ethertypes->len; i++)
                g_string_append_printf(types, "%s0x%04x", i ? " " : "",
                                       g_array_index(net->allowed_ethertypes, uint16_t, i));
            cn_xml_set(root, "ethertypes", types->str);
            g_string_free(types, TRUE);
        }
        cn_xml_setf(root, "broadcast-limit", "%u", net->broadcast_limit);
    }
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        xmlNodePtr guest = xmlNewChild(root, ns, (const xmlChar *)"guest", NULL);
        cn_xml_set(guest, "machine", link->machine_name);
        /* The hook lets only this domain use the MAC (port-created). */
        if (link->machine && link->machine->domain_name)
            cn_xml_set(guest, "domain", link->machine->domain_name);
        cn_xml_set(guest, "iface", link->iface);
        cn_xml_set_mac(guest, "mac", link->mac);
        set_link_addresses(guest, link);
        if (link->has_v6_address)
            cn_xml_set_v6(guest, "ipv6", &link->v6_address);
        if (net->metadata && link->machine && link->machine->metadata_handler.set)
            set_endpoint(guest, "handler", cn_link_metadata_handler(link));
        if (link->pool)
            cn_xml_set(guest, "pool", link->pool->name);
    }
    /* The hook puts these pools' TAPs back on a bridge libvirt remade. */
    for (guint i = 0; i < net->pools->len; i++) {
        const CnPool *pool = net->pools->pdata[i];
        xmlNodePtr node = xmlNewChild(root, ns, (const xmlChar *)"pool", NULL);
        cn_xml_set(node, "name", pool->name);
        cn_xml_set(node, "prefix", pool->prefix);
    }
    return root;
}

xmlNodePtr cn_render_machine_metadata(xmlDocPtr doc, const CnMachine *machine, GHashTable *taps)
{
    xmlNsPtr ns;
    xmlNodePtr root = new_cn_element(doc, "machine", &ns);
    cn_xml_set(root, "name", machine->name);
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        xmlNodePtr node = xmlNewChild(root, ns, (const xmlChar *)"link", NULL);
        cn_xml_set(node, "iface", link->iface);
        cn_xml_set(node, "network", link->net_name);
        cn_xml_set_mac(node, "mac", link->mac);
        set_link_addresses(node, link);
        if (link->has_v6_address)
            cn_xml_set_v6(node, "ipv6", &link->v6_address);
        if (link->net && cn_network_in_ovn(link->net)) {
            /* OVN's pipeline guards it; the hook only tells of it. */
            char port[CN_UUID_STR_MAX];
            cn_ovn_port_name(link->machine_name, link->iface, port);
            cn_xml_set(node, "ovn-port", port);
            if (link->net->forward == CN_FORWARD_NAT)
                cn_xml_set_v4(node, "snat", link->net->ovn_uplink_address.address);
        } else if (link->net && link->net->metadata) {
            set_endpoint(node, "handler", cn_link_metadata_handler(link));
        }
        const char *tap = taps ? g_hash_table_lookup(taps, link) : NULL;
        if (tap)
            cn_xml_set(node, "tap", tap);
    }
    return root;
}

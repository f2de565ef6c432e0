/* render-network.c - libvirt <network> XML for each technology.
 *
 * libvirt technology: a libvirt virtual network (bridge, dnsmasq, NAT).
 * bridge: forward mode bridge onto an existing host bridge.
 * openvswitch: forward mode bridge onto an OVS bridge, with the VLAN tag.
 */
#include <string.h>

#include "netaddr.h"
#include "render.h"

#define DNSMASQ_NS "http://libvirt.org/schemas/network/dnsmasq/1.0"

/* The elements this renderer owns; a template's own copies are replaced. */
static const char *const owned_elements[] = {
    "name", "forward", "bridge", "virtualport", "vlan", "mtu", "port", "domain", "dns", "ip",
};

static void render_dns(xmlNodePtr root, const CnNetwork *net)
{
    gboolean has_hosts = net->metadata;
    for (guint i = 0; i < net->links->len && !has_hosts; i++)
        has_hosts = ((const CnLink *)net->links->pdata[i])->dns_name != NULL;
    if (!has_hosts && net->v4_dns_servers->len == 0)
        return;

    xmlNodePtr dns = cn_xml_add(root, "dns");
    for (guint i = 0; i < net->v4_dns_servers->len; i++)
        cn_xml_set_v4(cn_xml_add(dns, "forwarder"), "addr",
                      g_array_index(net->v4_dns_servers, uint32_t, i));
    if (net->metadata) {
        xmlNodePtr host = cn_xml_add(dns, "host");
        cn_xml_set_v4(host, "ip", net->metadata_address);
        cn_xml_set_text(cn_xml_add(host, "hostname"), net->metadata_hostname);
    }
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (!link->dns_name || !link->v4_address)
            continue;
        xmlNodePtr host = cn_xml_add(dns, "host");
        cn_xml_set_v4(host, "ip", link->v4_address);
        cn_xml_set_text(cn_xml_add(host, "hostname"), link->dns_name);
    }
    /* AAAA: the link's static address, else the SLAAC one its MAC gives
     * (the only other address its port may send from). */
    for (guint i = 0; net->has_v6 && i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (!link->dns_name || !link->v4_address)
            continue;
        CnV6Address address = link->v6_address;
        if (!link->has_v6_address)
            cn_v6_eui64(&net->v6_subnet.network, link->mac, &address);
        xmlNodePtr host = cn_xml_add(dns, "host");
        cn_xml_set_v6(host, "ip", &address);
        cn_xml_set_text(cn_xml_add(host, "hostname"), link->dns_name);
    }
}

/* DHCP host name: the machine's first label, as Carthage hands it out. */
static char *dhcp_host_name(const CnLink *link)
{
    const char *dot = strchr(link->machine_name, '.');
    return dot ? g_strndup(link->machine_name, (gsize)(dot - link->machine_name))
               : g_strdup(link->machine_name);
}

static void render_ip(xmlNodePtr root, const CnNetwork *net)
{
    xmlNodePtr ip = cn_xml_add(root, "ip");
    cn_xml_set_v4(ip, "address", net->v4_gateway);
    cn_xml_setf(ip, "prefix", "%u", net->v4_subnet.prefix);
    if (!net->v4_dhcp)
        return;

    xmlNodePtr dhcp = cn_xml_add(ip, "dhcp");
    for (guint i = 0; i < net->v4_dhcp_ranges->len; i++) {
        const CnV4Range *range = &g_array_index(net->v4_dhcp_ranges, CnV4Range, i);
        xmlNodePtr node = cn_xml_add(dhcp, "range");
        cn_xml_set_v4(node, "start", range->first);
        cn_xml_set_v4(node, "end", range->last);
    }
    /* One reservation per MAC: a machine name may appear on one link only
     * per network, since dnsmasq keys host names uniquely. */
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (link->v4_source == CN_V4_NONE || !link->v4_address)
            continue;
        xmlNodePtr host = cn_xml_add(dhcp, "host");
        cn_xml_set_mac(host, "mac", link->mac);
        char *name = dhcp_host_name(link);
        if (g_hash_table_add(names, name))
            cn_xml_set(host, "name", name);
        cn_xml_set_v4(host, "ip", link->v4_address);
    }
}

/* Guests must route the metadata address through the gateway, also on
 * isolated networks, where libvirt's dnsmasq hands out no router: DHCP
 * option 121 (classless static routes) carries it, with the default route
 * too where there is one (clients that take option 121 ignore option 3). */
static void render_metadata_route(xmlNodePtr root, const CnNetwork *net)
{
    char gateway[CN_V4_STR_MAX], address[CN_V4_STR_MAX];
    cn_v4_format(net->v4_gateway, gateway);
    cn_v4_format(net->metadata_address, address);
    xmlNodePtr options = xmlNewChild(root, NULL, (const xmlChar *)"options", NULL);
    xmlNsPtr ns = xmlNewNs(options, (const xmlChar *)DNSMASQ_NS, (const xmlChar *)"dnsmasq");
    xmlSetNs(options, ns);
    xmlNodePtr option = xmlNewChild(options, ns, (const xmlChar *)"option", NULL);
    if (net->forward == CN_FORWARD_ISOLATED)
        cn_xml_setf(option, "value", "dhcp-option=option:classless-static-route,%s/32,%s", address, gateway);
    else
        cn_xml_setf(option, "value", "dhcp-option=option:classless-static-route,%s/32,%s,0.0.0.0/0,%s",
                    address, gateway, gateway);
}

static void render_libvirt(xmlNodePtr root, const CnNetwork *net)
{
    if (net->forward != CN_FORWARD_ISOLATED)
        cn_xml_set(cn_xml_add(root, "forward"), "mode", cn_forward_name(net->forward));
    xmlNodePtr bridge = cn_xml_add(root, "bridge");
    cn_xml_set(bridge, "name", net->bridge_name);
    cn_xml_set(bridge, "stp", "on");
    cn_xml_set(bridge, "delay", "0");
    if (net->mtu)
        cn_xml_setf(cn_xml_add(root, "mtu"), "size", "%u", net->mtu);
    if (net->isolate_guests)
        cn_xml_set(cn_xml_add(root, "port"), "isolated", "yes");
    if (net->v4_domain) {
        xmlNodePtr domain = cn_xml_add(root, "domain");
        cn_xml_set(domain, "name", net->v4_domain);
        cn_xml_set(domain, "localOnly", "yes");
    }
    render_dns(root, net);
    if (net->has_v4)
        render_ip(root, net);
    if (net->has_v6) {
        /* libvirt's dnsmasq then sends router advertisements for the
         * prefix: guests form their SLAAC addresses in it. */
        xmlNodePtr ip = cn_xml_add(root, "ip");
        cn_xml_set(ip, "family", "ipv6");
        cn_xml_set_v6(ip, "address", &net->v6_gateway);
        cn_xml_setf(ip, "prefix", "%u", net->v6_subnet.prefix);
    }
    if (net->metadata && net->has_v4 && net->v4_dhcp)
        render_metadata_route(root, net);
}

static void render_host_bridge(xmlNodePtr root, const CnNetwork *net)
{
    cn_xml_set(cn_xml_add(root, "forward"), "mode", "bridge");
    cn_xml_set(cn_xml_add(root, "bridge"), "name", net->bridge_name);
    if (cn_network_has_vlans(net)) {
        cn_xml_set(cn_xml_add(root, "virtualport"), "type", "openvswitch");
        if (net->vlan_id)
            cn_xml_setf(cn_xml_add(cn_xml_add(root, "vlan"), "tag"), "id", "%u", net->vlan_id);
    }
    /* libvirt refuses <mtu> in forward mode bridge: the MTU goes on the
     * bridge carthage-net makes and on each guest's <interface>. */
    if (net->isolate_guests)
        cn_xml_set(cn_xml_add(root, "port"), "isolated", "yes");
}

void cn_render_replace_metadata(xmlNodePtr owner, xmlNodePtr entry)
{
    xmlNodePtr metadata = cn_xml_ensure_child(owner, "metadata");
    xmlNodePtr child = metadata->children;
    while (child) {
        xmlNodePtr next = child->next;
        if (child->type == XML_ELEMENT_NODE && child->ns && child->ns->href &&
            xmlStrEqual(child->ns->href, (const xmlChar *)CN_XML_NS)) {
            xmlUnlinkNode(child);
            xmlFreeNode(child);
        }
        child = next;
    }
    xmlAddChild(metadata, entry);
}

xmlDocPtr cn_render_network(const CnNetwork *net, xmlDocPtr network_template)
{
    xmlDocPtr doc = xmlCopyDoc(network_template, 1);
    xmlNodePtr root = xmlDocGetRootElement(doc);

    for (gsize i = 0; i < G_N_ELEMENTS(owned_elements); i++)
        cn_xml_remove_children(root, owned_elements[i]);
    /* A template's own <dnsmasq:options> stay unless we write ours. */
    if (net->metadata) {
        for (xmlNodePtr child = root->children, next; child; child = next) {
            next = child->next;
            if (child->type == XML_ELEMENT_NODE && child->ns &&
                xmlStrEqual(child->ns->href, (const xmlChar *)DNSMASQ_NS)) {
                xmlUnlinkNode(child);
                xmlFreeNode(child);
            }
        }
    }
    /* <name> first, as libvirt writes it. */
    xmlNodePtr name = xmlNewDocNode(doc, NULL, (const xmlChar *)"name", NULL);
    cn_xml_set_text(name, net->name);
    if (root->children)
        xmlAddPrevSibling(root->children, name);
    else
        xmlAddChild(root, name);
    cn_render_replace_metadata(root, cn_render_network_metadata(doc, net));

    if (cn_network_serves_addresses(net))
        render_libvirt(root, net);
    else
        render_host_bridge(root, net);
    return doc;
}

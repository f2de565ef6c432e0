/* render-interface.c - a guest's <interface> elements, alone (for
 * attach-device), in <devices>, or merged into a domain. */
#include <string.h>

#include "alloc.h"
#include "netaddr.h"
#include "render.h"

static const char *const owned_elements[] = {
    "mac", "source", "target", "model", "mtu", "vlan", "virtualport",
};

/* <vlan trunk='yes'> with every allowed tag and the native one untagged. */
static void render_trunk(xmlNodePtr interface, const CnLink *link)
{
    xmlNodePtr vlan = cn_xml_add(interface, "vlan");
    gboolean native_listed = FALSE;
    cn_xml_set(vlan, "trunk", "yes");
    for (guint i = 0; i < link->allowed_vlans->len; i++) {
        const CnVlanRange *range = &g_array_index(link->allowed_vlans, CnVlanRange, i);
        for (unsigned id = range->first; id <= range->last; id++) {
            xmlNodePtr tag = cn_xml_add(vlan, "tag");
            cn_xml_setf(tag, "id", "%u", id);
            if (id == link->untagged_vlan && !native_listed) {
                cn_xml_set(tag, "nativeMode", "untagged");
                native_listed = TRUE;
            }
        }
    }
    if (link->untagged_vlan && !native_listed) {
        xmlNodePtr tag = cn_xml_add(vlan, "tag");
        cn_xml_setf(tag, "id", "%u", link->untagged_vlan);
        cn_xml_set(tag, "nativeMode", "untagged");
    }
}

xmlNodePtr cn_render_interface(xmlDocPtr doc, const CnLink *link, const char *tap,
                               xmlDocPtr interface_template)
{
    xmlNodePtr interface = xmlDocCopyNode(xmlDocGetRootElement(interface_template), doc, 1);
    for (gsize i = 0; i < G_N_ELEMENTS(owned_elements); i++)
        cn_xml_remove_children(interface, owned_elements[i]);

    cn_xml_set_mac(cn_xml_add(interface, "mac"), "address", link->mac);
    if (tap) {
        /* A pre-made pool TAP: libvirt uses it as it is (managed='no'). */
        cn_xml_set(interface, "type", "ethernet");
        xmlNodePtr target = cn_xml_add(interface, "target");
        cn_xml_set(target, "dev", tap);
        cn_xml_set(target, "managed", "no");
    } else if (cn_network_in_ovn(link->net)) {
        /* OVN: a port on the integration bridge whose iface-id names the
         * logical switch port; ovn-controller binds it where the guest
         * runs. */
        char port[CN_UUID_STR_MAX];
        cn_ovn_port_name(link->machine_name, link->iface, port);
        cn_xml_set(interface, "type", "bridge");
        cn_xml_set(cn_xml_add(interface, "source"), "bridge", link->net->bridge_name);
        xmlNodePtr virtualport = cn_xml_add(interface, "virtualport");
        cn_xml_set(virtualport, "type", "openvswitch");
        cn_xml_set(cn_xml_add(virtualport, "parameters"), "interfaceid", port);
    } else {
        cn_xml_set(interface, "type", "network");
        cn_xml_set(cn_xml_add(interface, "source"), "network", link->net_name);
    }
    cn_xml_set(cn_xml_add(interface, "model"), "type", link->model);
    uint32_t mtu = cn_link_effective_mtu(link);
    if (mtu)
        cn_xml_setf(cn_xml_add(interface, "mtu"), "size", "%u", mtu);
    if (link->allowed_vlans->len > 0)
        render_trunk(interface, link);
    return interface;
}

static const char *tap_of(GHashTable *taps, const CnLink *link)
{
    return taps ? g_hash_table_lookup(taps, link) : NULL;
}

xmlDocPtr cn_render_devices(const CnMachine *machine, GHashTable *taps, xmlDocPtr interface_template)
{
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr devices = xmlNewDocNode(doc, NULL, (const xmlChar *)"devices", NULL);
    xmlDocSetRootElement(doc, devices);
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        xmlAddChild(devices, cn_render_interface(doc, link, tap_of(taps, link), interface_template));
    }
    return doc;
}

/* The MAC of an existing <interface>, lower-cased; NULL when it has none. */
static char *interface_mac(xmlNodePtr interface)
{
    xmlNodePtr mac = cn_xml_child(interface, "mac");
    if (!mac)
        return NULL;
    g_autofree xmlChar *address = xmlGetProp(mac, (const xmlChar *)"address");
    return address ? g_ascii_strdown((const char *)address, -1) : NULL;
}

/* A machine with domain_name names its domain: a base without <name>
 * gets it, a base named otherwise is an error (the hook, attach and
 * status would look for the other name). */
static gboolean merge_domain_name(xmlNodePtr domain, const CnMachine *machine, GError **error)
{
    if (!machine->domain_name)
        return TRUE;
    xmlNodePtr name = cn_xml_child(domain, "name");
    if (!name) {
        xmlNodePtr first = domain->children;
        name = xmlNewDocNode(domain->doc, NULL, (const xmlChar *)"name", NULL);
        xmlNodeAddContent(name, (const xmlChar *)machine->domain_name);
        if (first)
            xmlAddPrevSibling(first, name);
        else
            xmlAddChild(domain, name);
        return TRUE;
    }
    g_autofree char *text = (char *)xmlNodeGetContent(name);
    if (text && strcmp(g_strstrip(text), machine->domain_name) != 0) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE,
                    "the base domain is named '%s', but [machine %s] has domain_name = %s", text,
                    machine->name, machine->domain_name);
        return FALSE;
    }
    return TRUE;
}

gboolean cn_render_domain_merge(xmlDocPtr base, const CnMachine *machine, GHashTable *taps,
                                xmlDocPtr interface_template, GError **error)
{
    xmlNodePtr domain = xmlDocGetRootElement(base);
    if (!domain || strcmp((const char *)domain->name, "domain") != 0) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE,
                    "the base document's root is <%s>, expected <domain>",
                    domain ? (const char *)domain->name : "");
        return FALSE;
    }
    if (!merge_domain_name(domain, machine, error))
        return FALSE;
    xmlNodePtr devices = cn_xml_ensure_child(domain, "devices");

    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(link->mac, mac);
        xmlNodePtr rendered = cn_render_interface(base, link, tap_of(taps, link), interface_template);
        gboolean placed = FALSE;

        xmlNodePtr child = devices->children;
        while (child) {
            xmlNodePtr next = child->next;
            g_autofree char *existing = NULL;
            if (child->type == XML_ELEMENT_NODE && strcmp((const char *)child->name, "interface") == 0)
                existing = interface_mac(child);
            if (existing && strcmp(existing, mac) == 0) {
                if (!placed)
                    xmlAddPrevSibling(child, rendered);
                placed = TRUE;
                xmlUnlinkNode(child);
                xmlFreeNode(child);
            }
            child = next;
        }
        if (!placed)
            xmlAddChild(devices, rendered);
    }
    cn_render_replace_metadata(domain, cn_render_machine_metadata(base, machine, taps));
    return TRUE;
}

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* <qemu:arg value='VALUE'/> pairs of ours: "-netdev user,id=cn-..." and
 * "-device ...,netdev=cn-...". */
static gboolean is_our_arg(xmlNodePtr arg)
{
    g_autofree char *value = (char *)xmlGetProp(arg, (const xmlChar *)"value");
    return value && (g_str_has_prefix(value, "user,id=cn-") || strstr(value, ",netdev=cn-") != NULL);
}

/* Removes the "-netdev"/"-device" and value pairs rendered before. */
static void remove_rendered_args(xmlNodePtr commandline)
{
    xmlNodePtr option = xmlFirstElementChild(commandline);
    while (option) {
        xmlNodePtr value = xmlNextElementSibling(option);
        if (value && is_our_arg(value)) {
            xmlNodePtr after = xmlNextElementSibling(value);
            xmlUnlinkNode(option);
            xmlFreeNode(option);
            xmlUnlinkNode(value);
            xmlFreeNode(value);
            option = after;
        } else {
            option = value;
        }
    }
}

static void add_arg(xmlNodePtr commandline, xmlNsPtr ns, const char *value)
{
    xmlNodePtr arg = xmlNewChild(commandline, ns, (const xmlChar *)"arg", NULL);
    xmlSetProp(arg, (const xmlChar *)"value", (const xmlChar *)value);
}

gboolean cn_render_domain_merge_user(xmlDocPtr base, const CnMachine *machine, const char *connector,
                                     const char *socket_dir, GError **error)
{
    xmlNodePtr domain = xmlDocGetRootElement(base);
    if (!domain || strcmp((const char *)domain->name, "domain") != 0) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE, "the base document's root is <%s>, expected <domain>",
                    domain ? (const char *)domain->name : "");
        return FALSE;
    }
    if (!merge_domain_name(domain, machine, error))
        return FALSE;
    /* Every option first: nothing changed when one cannot be rendered. */
    g_autoptr(GPtrArray) options = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        char *netdev = cn_render_user_netdev_option(link, connector, socket_dir, error);
        if (!netdev)
            return FALSE;
        g_ptr_array_add(options, netdev);
        g_ptr_array_add(options, cn_render_device_option(link));
    }
    xmlNodePtr devices = cn_xml_ensure_child(domain, "devices");
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(link->mac, mac);
        for (xmlNodePtr child = devices->children, next; child; child = next) {
            next = child->next;
            g_autofree char *existing = NULL;
            if (child->type == XML_ELEMENT_NODE && strcmp((const char *)child->name, "interface") == 0)
                existing = interface_mac(child);
            if (existing && strcmp(existing, mac) == 0) {
                xmlUnlinkNode(child);
                xmlFreeNode(child);
            }
        }
    }
    xmlNsPtr ns = xmlSearchNsByHref(base, domain, (const xmlChar *)QEMU_NS);
    if (!ns)
        ns = xmlNewNs(domain, (const xmlChar *)QEMU_NS, (const xmlChar *)"qemu");
    xmlNodePtr commandline = NULL;
    for (xmlNodePtr child = domain->children; child && !commandline; child = child->next) {
        if (child->type == XML_ELEMENT_NODE && child->ns && strcmp((const char *)child->ns->href, QEMU_NS) == 0 &&
            strcmp((const char *)child->name, "commandline") == 0)
            commandline = child;
    }
    if (!commandline)
        commandline = xmlNewChild(domain, ns, (const xmlChar *)"commandline", NULL);
    remove_rendered_args(commandline);
    for (guint i = 0; i < options->len; i += 2) {
        add_arg(commandline, ns, "-netdev");
        add_arg(commandline, ns, options->pdata[i]);
        add_arg(commandline, ns, "-device");
        add_arg(commandline, ns, options->pdata[i + 1]);
    }
    cn_render_replace_metadata(domain, cn_render_machine_metadata(base, machine, NULL));
    return TRUE;
}

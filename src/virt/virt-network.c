/* virt-network.c - libvirt networks and the domains on them. */
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "virt-private.h"
#include "xml-util.h"

G_DEFINE_QUARK(cn-virt-error-quark, cn_virt_error)

struct CnVirt {
    virConnectPtr conn;
    char *uri;
};

/* libvirt prints every error to stderr by default; we report them once,
 * with context, instead. */
static void quiet_errors(void *data, virErrorPtr error)
{
}

virConnectPtr cn_virt_conn(CnVirt *virt)
{
    return virt->conn;
}

gboolean cn_virt_fail(GError **error, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *what = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, CN_VIRT_ERROR, CN_VIRT_ERROR_FAILED, "%s: %s", what, virGetLastErrorMessage());
    return FALSE;
}

CnVirt *cn_virt_open(const char *uri, GError **error)
{
    virSetErrorFunc(NULL, quiet_errors);
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) {
        g_set_error(error, CN_VIRT_ERROR, CN_VIRT_ERROR_CONNECT,
                    "cannot connect to libvirt%s%s (is libvirtd running?): %s", uri ? " at " : "",
                    uri ? uri : "", virGetLastErrorMessage());
        return NULL;
    }
    CnVirt *virt = g_new0(CnVirt, 1);
    virt->conn = conn;
    char *actual = virConnectGetURI(conn);
    virt->uri = g_strdup(actual ? actual : (uri ? uri : "default"));
    free(actual);
    return virt;
}

void cn_virt_close(CnVirt *virt)
{
    if (!virt)
        return;
    virConnectClose(virt->conn);
    g_free(virt->uri);
    g_free(virt);
}

const char *cn_virt_uri(const CnVirt *virt)
{
    return virt->uri;
}

void cn_virt_network_clear(CnVirtNetwork *net)
{
    xmlFreeDoc(net->config);
    xmlFreeDoc(net->live);
    memset(net, 0, sizeof *net);
}

static xmlDocPtr network_xml(virNetworkPtr net, unsigned flags, const char *name, GError **error)
{
    char *text = virNetworkGetXMLDesc(net, flags);
    if (!text) {
        cn_virt_fail(error, "cannot read network %s", name);
        return NULL;
    }
    xmlDocPtr doc = cn_xml_parse(name, text, strlen(text), error);
    free(text);
    return doc;
}

static virNetworkPtr lookup(CnVirt *virt, const char *name, GError **error)
{
    virNetworkPtr net = virNetworkLookupByName(virt->conn, name);
    if (!net)
        cn_virt_fail(error, "network %s", name);
    return net;
}

gboolean cn_virt_network_get(CnVirt *virt, const char *name, CnVirtNetwork *out, GError **error)
{
    memset(out, 0, sizeof *out);
    virNetworkPtr net = virNetworkLookupByName(virt->conn, name);
    if (!net) {
        virErrorPtr last = virGetLastError();
        if (last && last->code == VIR_ERR_NO_NETWORK)
            return TRUE;
        return cn_virt_fail(error, "cannot look up network %s", name);
    }
    gboolean ok = FALSE;
    int autostart = 0;
    out->exists = TRUE;
    out->active = virNetworkIsActive(net) == 1;
    out->persistent = virNetworkIsPersistent(net) == 1;
    if (virNetworkGetUUIDString(net, out->uuid) < 0 || virNetworkGetAutostart(net, &autostart) < 0) {
        cn_virt_fail(error, "cannot read network %s", name);
        goto out;
    }
    out->autostart = autostart != 0;
    if (out->persistent && !(out->config = network_xml(net, VIR_NETWORK_XML_INACTIVE, name, error)))
        goto out;
    if (out->active && !(out->live = network_xml(net, 0, name, error)))
        goto out;
    ok = TRUE;
out:
    virNetworkFree(net);
    if (!ok)
        cn_virt_network_clear(out);
    return ok;
}

gboolean cn_virt_network_define(CnVirt *virt, xmlDocPtr doc, GError **error)
{
    g_autofree char *text = cn_xml_format(doc);
    virNetworkPtr net = virNetworkDefineXML(virt->conn, text);
    if (!net)
        return cn_virt_fail(error, "libvirt refused the network definition");
    virNetworkFree(net);
    return TRUE;
}

gboolean cn_virt_network_update_live(CnVirt *virt, const char *name, const CnNetUpdate *update,
                                     GError **error)
{
    virNetworkPtr net = lookup(virt, name, error);
    if (!net)
        return FALSE;
    unsigned command = update->command == CN_NET_UPDATE_ADD ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
                                                            : VIR_NETWORK_UPDATE_COMMAND_DELETE;
    unsigned section = update->section == CN_NET_SECTION_DHCP_HOST ? VIR_NETWORK_SECTION_IP_DHCP_HOST
                                                                   : VIR_NETWORK_SECTION_DNS_HOST;
    int rc = virNetworkUpdate(net, command, section, -1, update->xml, VIR_NETWORK_UPDATE_AFFECT_LIVE);
    /* Before the Free: every libvirt call resets the last error. */
    gboolean ok = rc >= 0 ||
                  cn_virt_fail(error, "cannot %s %s live",
                               update->command == CN_NET_UPDATE_ADD ? "add" : "delete",
                               update->description);
    virNetworkFree(net);
    return ok;
}

typedef int (*NetworkAction)(virNetworkPtr net);

static gboolean act(CnVirt *virt, const char *name, NetworkAction action, const char *what,
                    GError **error)
{
    virNetworkPtr net = lookup(virt, name, error);
    if (!net)
        return FALSE;
    int rc = action(net);
    /* Before the Free: every libvirt call resets the last error. */
    gboolean ok = rc >= 0 || cn_virt_fail(error, "cannot %s network %s", what, name);
    virNetworkFree(net);
    return ok;
}

gboolean cn_virt_network_start(CnVirt *virt, const char *name, GError **error)
{
    return act(virt, name, virNetworkCreate, "start", error);
}

gboolean cn_virt_network_destroy(CnVirt *virt, const char *name, GError **error)
{
    return act(virt, name, virNetworkDestroy, "stop", error);
}

gboolean cn_virt_network_undefine(CnVirt *virt, const char *name, GError **error)
{
    return act(virt, name, virNetworkUndefine, "undefine", error);
}

gboolean cn_virt_network_set_autostart(CnVirt *virt, const char *name, gboolean on, GError **error)
{
    virNetworkPtr net = lookup(virt, name, error);
    if (!net)
        return FALSE;
    int rc = virNetworkSetAutostart(net, on ? 1 : 0);
    /* Before the Free: every libvirt call resets the last error. */
    gboolean ok = rc >= 0 || cn_virt_fail(error, "cannot set autostart of network %s", name);
    virNetworkFree(net);
    return ok;
}

static gboolean domain_xml_uses_network(const char *text, const char *network)
{
    g_autoptr(GError) ignored = NULL;
    g_autoptr(xmlDoc) doc = cn_xml_parse("domain", text, strlen(text), &ignored);
    if (!doc)
        return FALSE;
    gboolean found = FALSE;
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(
        (const xmlChar *)"/domain/devices/interface[@type='network']/source/@network", context);
    for (int i = 0; result && result->nodesetval && i < result->nodesetval->nodeNr; i++) {
        xmlChar *value = xmlNodeGetContent(result->nodesetval->nodeTab[i]);
        found |= value && strcmp((const char *)value, network) == 0;
        xmlFree(value);
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return found;
}

GPtrArray *cn_virt_domains_on_network(CnVirt *virt, const char *network, GError **error)
{
    virDomainPtr *domains = NULL;
    int count = virConnectListAllDomains(virt->conn, &domains, 0);
    if (count < 0) {
        cn_virt_fail(error, "cannot list domains");
        return NULL;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < count; i++) {
        /* The running definition and the persistent one can differ after a
         * hot-plug; either using the network counts. */
        const unsigned flags[] = { 0, VIR_DOMAIN_XML_INACTIVE };
        gboolean uses = FALSE;
        for (gsize f = 0; f < G_N_ELEMENTS(flags) && !uses; f++) {
            char *text = virDomainGetXMLDesc(domains[i], flags[f]);
            if (text)
                uses = domain_xml_uses_network(text, network);
            free(text);
        }
        if (uses)
            g_ptr_array_add(names, g_strdup(virDomainGetName(domains[i])));
        virDomainFree(domains[i]);
    }
    free(domains);
    return names;
}

gboolean cn_virt_xml_is_ours(xmlDocPtr doc)
{
    xmlNodePtr metadata = doc ? cn_xml_child(xmlDocGetRootElement(doc), "metadata") : NULL;
    for (xmlNodePtr child = metadata ? metadata->children : NULL; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE && child->ns &&
            xmlStrEqual(child->ns->href, (const xmlChar *)CN_XML_NS))
            return TRUE;
    }
    return FALSE;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *cn_virt_our_networks(CnVirt *virt, GError **error)
{
    virNetworkPtr *networks = NULL;
    int count = virConnectListAllNetworks(virt->conn, &networks, 0);
    if (count < 0) {
        cn_virt_fail(error, "cannot list networks");
        return NULL;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < count; i++) {
        const char *name = virNetworkGetName(networks[i]);
        g_autoptr(GError) ignored = NULL;
        xmlDocPtr doc = network_xml(networks[i], VIR_NETWORK_XML_INACTIVE, name, &ignored);
        if (cn_virt_xml_is_ours(doc))
            g_ptr_array_add(names, g_strdup(name));
        xmlFreeDoc(doc);
        virNetworkFree(networks[i]);
    }
    free(networks);
    g_ptr_array_sort(names, compare_names);
    return names;
}

/* netxml-diff.c - see netxml-diff.h */
#include <stdlib.h>
#include <string.h>

#include <libxml/xpath.h>

#include "netxml-diff.h"
#include "xml-util.h"

static void update_free(gpointer data)
{
    CnNetUpdate *update = data;
    g_free(update->xml);
    g_free(update->description);
    g_free(update);
}

void cn_net_diff_free(CnNetDiff *diff)
{
    if (!diff)
        return;
    g_ptr_array_unref(diff->restart_reasons);
    g_ptr_array_unref(diff->updates);
    g_free(diff);
}

gboolean cn_net_diff_is_empty(const CnNetDiff *diff)
{
    return diff->restart_reasons->len == 0 && diff->updates->len == 0 && !diff->metadata_changed;
}

const char *cn_net_section_name(CnNetSection section)
{
    return section == CN_NET_SECTION_DHCP_HOST ? "ip-dhcp-host" : "dns-host";
}

/* All values of an XPath expression, joined by ' ' in document order:
 * one comparable string per aspect of the network. */
static char *xpath_values(xmlDocPtr doc, const char *expression)
{
    g_autoptr(GString) out = g_string_new(NULL);
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathObjectPtr result = xmlXPathEvalExpression((const xmlChar *)expression, context);
    if (result && result->nodesetval) {
        for (int i = 0; i < result->nodesetval->nodeNr; i++) {
            xmlNodePtr node = result->nodesetval->nodeTab[i];
            if (node->type == XML_ELEMENT_NODE) { /* presence is the value */
                g_string_append_printf(out, "%s%s", out->len ? " " : "", (const char *)node->name);
                continue;
            }
            xmlChar *value = xmlNodeGetContent(node);
            g_string_append_printf(out, "%s%s", out->len ? " " : "", value ? (char *)value : "");
            xmlFree(value);
        }
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Aspects a running network cannot change; each with its default when
 * absent, so that libvirt's filled-in defaults do not count as changes. */
static const struct {
    const char *what;
    const char *xpath;
    const char *absent;
} restart_aspects[] = {
    { "forward mode", "/network/forward/@mode", "isolated" },
    { "bridge", "/network/bridge/@name", "" },
    { "MTU", "/network/mtu/@size", "default" },
    { "guest isolation", "/network/port/@isolated", "no" },
    { "DNS domain", "/network/domain/@name", "none" },
    { "DNS forwarders", "/network/dns/forwarder/@addr", "none" },
    { "gateway address", "/network/ip/@address", "none" },
    { "prefix", "/network/ip/@prefix", "none" },
    { "DHCP", "/network/ip/dhcp", "off" },
    { "DHCP ranges", "/network/ip/dhcp/range/@start | /network/ip/dhcp/range/@end", "none" },
    { "virtualport", "/network/virtualport/@type", "none" },
    { "VLAN tag", "/network/vlan/tag/@id", "none" },
    { "dnsmasq options", "/network/*[local-name()='options']/*[local-name()='option']/@value", "none" },
};

static void compare_restart_aspects(CnNetDiff *diff, xmlDocPtr current, xmlDocPtr wanted)
{
    for (gsize i = 0; i < G_N_ELEMENTS(restart_aspects); i++) {
        g_autofree char *old = xpath_values(current, restart_aspects[i].xpath);
        g_autofree char *new = xpath_values(wanted, restart_aspects[i].xpath);
        if (strcmp(old, new) != 0)
            g_ptr_array_add(diff->restart_reasons,
                            g_strdup_printf("%s %s -> %s", restart_aspects[i].what,
                                            *old ? old : restart_aspects[i].absent,
                                            *new ? new : restart_aspects[i].absent));
    }
}

/* One entry per <host>: a key that is the whole element as libvirt would
 * match it, and the XML to send. */
typedef struct {
    char *key;
    char *xml;
    char *description;
} HostEntry;

static void host_entry_free(gpointer data)
{
    HostEntry *entry = data;
    g_free(entry->key);
    g_free(entry->xml);
    g_free(entry->description);
    g_free(entry);
}

static char *prop(xmlNodePtr node, const char *name)
{
    xmlChar *value = xmlGetProp(node, (const xmlChar *)name);
    char *copy = g_strdup(value ? (const char *)value : "");
    xmlFree(value);
    return copy;
}

static GHashTable *dhcp_hosts(xmlDocPtr doc)
{
    GHashTable *hosts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, host_entry_free);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr ip = root->children; ip; ip = ip->next) {
        if (ip->type != XML_ELEMENT_NODE || strcmp((const char *)ip->name, "ip") != 0)
            continue;
        xmlNodePtr dhcp = cn_xml_child(ip, "dhcp");
        for (xmlNodePtr host = dhcp ? dhcp->children : NULL; host; host = host->next) {
            if (host->type != XML_ELEMENT_NODE || strcmp((const char *)host->name, "host") != 0)
                continue;
            g_autofree char *mac_raw = prop(host, "mac");
            g_autofree char *mac = g_ascii_strdown(mac_raw, -1);
            g_autofree char *name = prop(host, "name");
            g_autofree char *address = prop(host, "ip");
            HostEntry *entry = g_new0(HostEntry, 1);
            entry->key = g_strdup_printf("%s %s %s", mac, address, name);
            GString *xml = g_string_new("<host");
            if (*mac)
                g_string_append_printf(xml, " mac='%s'", mac);
            if (*name)
                g_string_append_printf(xml, " name='%s'", name);
            g_string_append_printf(xml, " ip='%s'/>", address);
            entry->xml = g_string_free(xml, FALSE);
            entry->description = g_strdup_printf("DHCP host %s", entry->key);
            g_hash_table_replace(hosts, entry->key, entry);
        }
    }
    return hosts;
}

static GHashTable *dns_hosts(xmlDocPtr doc)
{
    GHashTable *hosts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, host_entry_free);
    xmlNodePtr dns = cn_xml_child(xmlDocGetRootElement(doc), "dns");
    for (xmlNodePtr host = dns ? dns->children : NULL; host; host = host->next) {
        if (host->type != XML_ELEMENT_NODE || strcmp((const char *)host->name, "host") != 0)
            continue;
        g_autofree char *address = prop(host, "ip");
        GString *names = g_string_new(NULL);
        GString *xml = g_string_new(NULL);
        g_string_append_printf(xml, "<host ip='%s'>", address);
        for (xmlNodePtr name = host->children; name; name = name->next) {
            if (name->type != XML_ELEMENT_NODE || strcmp((const char *)name->name, "hostname") != 0)
                continue;
            xmlChar *text = xmlNodeGetContent(name);
            g_string_append_printf(names, " %s", (char *)text);
            g_string_append_printf(xml, "<hostname>%s</hostname>", (char *)text);
            xmlFree(text);
        }
        g_string_append(xml, "</host>");
        HostEntry *entry = g_new0(HostEntry, 1);
        entry->key = g_strdup_printf("%s%s", address, names->str);
        entry->xml = g_string_free(xml, FALSE);
        entry->description = g_strdup_printf("DNS host %s", entry->key);
        g_string_free(names, TRUE);
        g_hash_table_replace(hosts, entry->key, entry);
    }
    return hosts;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a deletion for every entry only in CURRENT and an addition for
 * every one only in WANTED, in key order so the result is stable. */
static void compare_hosts(CnNetDiff *diff, CnNetSection section, GHashTable *current,
                          GHashTable *wanted, GPtrArray *additions)
{
    const struct {
        GHashTable *from, *other;
        CnNetUpdateCommand command;
        GPtrArray *into;
    } passes[] = {
        { current, wanted, CN_NET_UPDATE_DELETE, diff->updates },
        { wanted, current, CN_NET_UPDATE_ADD, additions },
    };
    for (gsize p = 0; p < G_N_ELEMENTS(passes); p++) {
        guint n_keys;
        g_autofree gpointer *keys = g_hash_table_get_keys_as_array(passes[p].from, &n_keys);
        qsort(keys, n_keys, sizeof *keys, compare_strings);
        for (guint i = 0; i < n_keys; i++) {
            if (g_hash_table_contains(passes[p].other, keys[i]))
                continue;
            const HostEntry *entry = g_hash_table_lookup(passes[p].from, keys[i]);
            CnNetUpdate *update = g_new0(CnNetUpdate, 1);
            update->section = section;
            update->command = passes[p].command;
            update->xml = g_strdup(entry->xml);
            update->description = g_strdup(entry->description);
            g_ptr_array_add(passes[p].into, update);
        }
    }
}

/* carthage-net's <metadata> entry, serialised, or "" */
static char *cn_metadata(xmlDocPtr doc)
{
    xmlNodePtr metadata = cn_xml_child(xmlDocGetRootElement(doc), "metadata");
    for (xmlNodePtr child = metadata ? metadata->children : NULL; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE && child->ns &&
            xmlStrEqual(child->ns->href, (const xmlChar *)CN_XML_NS))
            return cn_xml_format_node(doc, child);
    }
    return g_strdup("");
}

CnNetDiff *cn_net_diff(xmlDocPtr current, xmlDocPtr wanted)
{
    CnNetDiff *diff = g_new0(CnNetDiff, 1);
    diff->restart_reasons = g_ptr_array_new_with_free_func(g_free);
    diff->updates = g_ptr_array_new_with_free_func(update_free);
    g_autoptr(GPtrArray) additions = g_ptr_array_new();

    compare_restart_aspects(diff, current, wanted);

    g_autoptr(GHashTable) old_dhcp = dhcp_hosts(current);
    g_autoptr(GHashTable) new_dhcp = dhcp_hosts(wanted);
    compare_hosts(diff, CN_NET_SECTION_DHCP_HOST, old_dhcp, new_dhcp, additions);
    g_autoptr(GHashTable) old_dns = dns_hosts(current);
    g_autoptr(GHashTable) new_dns = dns_hosts(wanted);
    compare_hosts(diff, CN_NET_SECTION_DNS_HOST, old_dns, new_dns, additions);
    /* Deletions first: a changed reservation frees its MAC or address
     * before the new one claims it. */
    for (guint i = 0; i < additions->len; i++)
        g_ptr_array_add(diff->updates, additions->pdata[i]);

    g_autofree char *old_metadata = cn_metadata(current);
    g_autofree char *new_metadata = cn_metadata(wanted);
    diff->metadata_changed = strcmp(old_metadata, new_metadata) != 0;
    return diff;
}

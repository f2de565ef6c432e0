/* model.c - construction, lookup and indexing of the data model. */
#include <string.h>

#include "model.h"
#include "netaddr.h"

static GHashTable *key_locs_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
}

static void network_free(gpointer data)
{
    CnNetwork *net = data;
    g_hash_table_unref(net->key_locs);
    g_free(net->name);
    g_free(net->bridge_name);
    g_free(net->metadata_hostname);
    g_array_unref(net->v4_dhcp_ranges);
    g_array_unref(net->v4_dns_servers);
    g_free(net->v4_domain);
    g_array_unref(net->allowed_ethertypes);
    g_free(net->ovn_northbound);
    g_free(net->ovn_private_key);
    g_free(net->ovn_certificate);
    g_free(net->ovn_ca_certificate);
    g_free(net->ovn_uplink);
    g_array_unref(net->ovn_gateway_chassis);
    g_ptr_array_unref(net->links);
    g_ptr_array_unref(net->pools);
    g_free(net);
}

static void machine_free(gpointer data)
{
    CnMachine *machine = data;
    g_hash_table_unref(machine->key_locs);
    g_free(machine->name);
    g_free(machine->domain_name);
    g_free(machine->metadata_handler_socket);
    g_ptr_array_unref(machine->links);
    g_free(machine);
}

static void link_free(gpointer data)
{
    CnLink *link = data;
    g_hash_table_unref(link->key_locs);
    g_free(link->machine_name);
    g_free(link->iface);
    g_free(link->net_name);
    g_free(link->model);
    g_array_unref(link->v4_secondary);
    g_free(link->dns_name);
    g_array_unref(link->allowed_vlans);
    g_free(link->pool_name);
    g_free(link);
}

static void pool_free(gpointer data)
{
    CnPool *pool = data;
    g_hash_table_unref(pool->key_locs);
    g_free(pool->name);
    g_free(pool->net_name);
    g_free(pool->prefix);
    g_free(pool->owner);
    g_free(pool->group);
    g_free(pool);
}

CnSite *cn_site_new(void)
{
    CnSite *site = g_new0(CnSite, 1);
    site->networks = g_ptr_array_new_with_free_func(network_free);
    site->machines = g_ptr_array_new_with_free_func(machine_free);
    site->links = g_ptr_array_new_with_free_func(link_free);
    site->pools = g_ptr_array_new_with_free_func(pool_free);
    return site;
}

void cn_site_free(CnSite *site)
{
    if (!site)
        return;
    g_ptr_array_unref(site->links);
    g_ptr_array_unref(site->networks);
    g_ptr_array_unref(site->machines);
    g_ptr_array_unref(site->pools);
    g_free(site);
}

static void clear_string(gpointer slot)
{
    g_free(*(char **)slot);
}

CnNetwork *cn_network_new(const char *name)
{
    CnNetwork *net = g_new0(CnNetwork, 1);
    net->key_locs = key_locs_new();
    net->name = g_strdup(name);
    net->v4_dhcp_ranges = g_array_new(FALSE, FALSE, sizeof(CnV4Range));
    net->v4_dns_servers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    net->allowed_ethertypes = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    net->ovn_gateway_chassis = g_array_new(FALSE, FALSE, sizeof(char *));
    g_array_set_clear_func(net->ovn_gateway_chassis, clear_string);
    net->links = g_ptr_array_new();
    net->pools = g_ptr_array_new();
    return net;
}

CnMachine *cn_machine_new(const char *name)
{
    CnMachine *machine = g_new0(CnMachine, 1);
    machine->key_locs = key_locs_new();
    machine->name = g_strdup(name);
    machine->links = g_ptr_array_new();
    return machine;
}

const char *cn_machine_domain(const CnMachine *machine)
{
    return machine->domain_name ? machine->domain_name : machine->name;
}

CnLink *cn_link_new(const char *machine, const char *iface)
{
    CnLink *link = g_new0(CnLink, 1);
    link->key_locs = key_locs_new();
    link->machine_name = g_strdup(machine);
    link->iface = g_strdup(iface);
    link->v4_secondary = g_array_new(FALSE, FALSE, sizeof(CnSecondaryAddress));
    link->allowed_vlans = g_array_new(FALSE, FALSE, sizeof(CnVlanRange));
    return link;
}

CnPool *cn_pool_new(const char *name)
{
    CnPool *pool = g_new0(CnPool, 1);
    pool->key_locs = key_locs_new();
    pool->name = g_strdup(name);
    return pool;
}

/* Every named object starts with its name, so one finder serves all. */
typedef struct {
    GHashTable *key_locs;
    char *name;
} NamedObject;

static gpointer find_named(GPtrArray *array, const char *name)
{
    for (guint i = 0; i < array->len; i++) {
        NamedObject *object = array->pdata[i];
        if (strcmp(object->name, name) == 0)
            return object;
    }
    return NULL;
}

/* ARRAY sorted by name (cn_site_index sorts them first). */
static gpointer find_named_sorted(GPtrArray *array, const char *name)
{
    guint low = 0, high = array->len;
    while (low < high) {
        guint middle = low + (high - low) / 2;
        NamedObject *object = array->pdata[middle];
        int order = strcmp(object->name, name);
        if (order == 0)
            return object;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

CnNetwork *cn_site_find_network(const CnSite *site, const char *name)
{
    return find_named(site->networks, name);
}

CnMachine *cn_site_find_machine(const CnSite *site, const char *name)
{
    return find_named(site->machines, name);
}

CnPool *cn_site_find_pool(const CnSite *site, const char *name)
{
    return find_named(site->pools, name);
}

CnLink *cn_site_find_link(const CnSite *site, const char *machine, const char *iface)
{
    for (guint i = 0; i < site->links->len; i++) {
        CnLink *link = site->links->pdata[i];
        if (strcmp(link->machine_name, machine) == 0 && strcmp(link->iface, iface) == 0)
            return link;
    }
    return NULL;
}

static int compare_named(gconstpointer a, gconstpointer b)
{
    const NamedObject *x = *(NamedObject *const *)a;
    const NamedObject *y = *(NamedObject *const *)b;
    return strcmp(x->name, y->name);
}

static int compare_links(gconstpointer a, gconstpointer b)
{
    const CnLink *x = *(CnLink *const *)a;
    const CnLink *y = *(CnLink *const *)b;
    int c = strcmp(x->machine_name, y->machine_name);
    return c ? c : strcmp(x->iface, y->iface);
}

void cn_site_index(CnSite *site)
{
    g_ptr_array_sort(site->networks, compare_named);
    g_ptr_array_sort(site->machines, compare_named);
    g_ptr_array_sort(site->pools, compare_named);
    g_ptr_array_sort(site->links, compare_links);

    for (guint i = 0; i < site->links->len; i++) {
        CnLink *link = site->links->pdata[i];
        link->net = link->net_name ? cn_site_find_network(site, link->net_name) : NULL;
        link->pool = link->pool_name ? cn_site_find_pool(site, link->pool_name) : NULL;
        link->machine = find_named_sorted(site->machines, link->machine_name);
        if (link->net)
            g_ptr_array_add(link->net->links, link);
        if (link->machine)
            g_ptr_array_add(link->machine->links, link);
    }
    for (guint i = 0; i < site->pools->len; i++) {
        CnPool *pool = site->pools->pdata[i];
        pool->net = pool->net_name ? cn_site_find_network(site, pool->net_name) : NULL;
        if (pool->net)
            g_ptr_array_add(pool->net->pools, pool);
    }
}

const CnLoc *cn_key_loc(GHashTable *key_locs, const char *key, const CnLoc *fallback)
{
    const CnLoc *loc = g_hash_table_lookup(key_locs, key);
    return loc ? loc : fallback;
}

gboolean cn_key_is_set(GHashTable *key_locs, const char *key)
{
    return g_hash_table_contains(key_locs, key);
}

gboolean cn_object_is_invalid(GHashTable *key_locs)
{
    return g_hash_table_contains(key_locs, CN_KEY_INVALID);
}

const char *cn_technology_name(CnTechnology t)
{
    static const char *const names[] = { "libvirt", "bridge", "openvswitch", "ovn" };
    return names[t];
}

const char *cn_ipv6_mode_name(CnIpv6Mode mode)
{
    static const char *const names[] = { "drop", "pinned" };
    return names[mode];
}

gboolean cn_network_has_isolation(const CnNetwork *net)
{
    return net->technology == CN_TECH_LIBVIRT || net->technology == CN_TECH_BRIDGE;
}

gboolean cn_network_serves_addresses(const CnNetwork *net)
{
    return net->technology == CN_TECH_LIBVIRT || net->technology == CN_TECH_OVN;
}

gboolean cn_network_has_vlans(const CnNetwork *net)
{
    return net->technology == CN_TECH_OPENVSWITCH;
}

gboolean cn_network_uses_host_bridge(const CnNetwork *net)
{
    return net->technology == CN_TECH_BRIDGE;
}

gboolean cn_network_in_libvirt(const CnNetwork *net)
{
    return net->technology != CN_TECH_OVN;
}

gboolean cn_network_in_ovn(const CnNetwork *net)
{
    return net->technology == CN_TECH_OVN;
}

gboolean cn_network_has_ovn_router(const CnNetwork *net)
{
    return cn_network_in_ovn(net) && (net->forward == CN_FORWARD_NAT || net->forward == CN_FORWARD_ROUTE);
}

gint cn_compare_string_ptrs(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

const char *cn_forward_name(CnForward f)
{
    static const char *const names[] = { "nat", "route", "open", "isolated" };
    return names[f];
}

uint32_t cn_link_effective_mtu(const CnLink *link)
{
    if (link->mtu)
        return link->mtu;
    return link->net ? link->net->mtu : 0;
}

CnEndpoint cn_link_metadata_handler(const CnLink *link)
{
    CnEndpoint endpoint = { 0 };
    /* On OVN the service on the guest's own chassis listens at the
     * metadata address itself (carthage-net metadata serve --ovn). */
    if (link->net && cn_network_in_ovn(link->net) && link->net->metadata)
        return (CnEndpoint){ .set = TRUE, .host = link->net->metadata_address, .port = link->net->metadata_port };
    if (link->machine && link->machine->metadata_handler.set)
        endpoint = link->machine->metadata_handler;
    else if (link->net)
        endpoint = link->net->metadata_handler;
    /* "[HOST:]PORT": a handler without a host listens on the gateway. */
    if (endpoint.set && endpoint.host == 0 && link->net)
        endpoint.host = link->net->v4_gateway;
    return endpoint;
}

const CnLink *cn_network_link_with_mac(const CnNetwork *net, const uint8_t mac[6])
{
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (memcmp(link->mac, mac, 6) == 0)
            return link;
    }
    return NULL;
}

CnTokenMode cn_link_metadata_tokens(const CnLink *link)
{
    if (link->machine && link->machine->metadata_tokens != CN_TOKENS_UNSET)
        return link->machine->metadata_tokens;
    if (link->net && link->net->metadata_tokens != CN_TOKENS_UNSET)
        return link->net->metadata_tokens;
    return CN_TOKENS_OPTIONAL;
}

guint cn_link_metadata_hop_limit(const CnLink *link)
{
    if (link->machine && link->machine->metadata_hop_limit)
        return link->machine->metadata_hop_limit;
    if (link->net && link->net->metadata_hop_limit)
        return link->net->metadata_hop_limit;
    return CN_METADATA_HOP_LIMIT_DEFAULT;
}

const char *cn_token_mode_name(CnTokenMode mode)
{
    return mode == CN_TOKENS_REQUIRED ? "required" : "optional";
}

gboolean cn_endpoint_parse(const char *text, gboolean host_optional, CnEndpoint *out)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    uint32_t host = 0;
    guint64 port;
    if (!text || (!colon && !host_optional))
        return FALSE;
    if (colon) {
        /* On the stack: no dotted quad is longer (octets have no leading
         * zeros), and records parse one per line. */
        char host_text[CN_V4_STR_MAX];
        gsize host_length = (gsize)(colon - text);
        if (host_length >= sizeof host_text)
            return FALSE;
        memcpy(host_text, text, host_length);
        host_text[host_length] = '\0';
        if (!cn_v4_parse(host_text, &host))
            return FALSE;
        text = colon + 1;
    }
    /* Digits only: g_ascii_string_to_unsigned takes no sign or spaces. */
    if (!g_ascii_string_to_unsigned(text, 10, 1, 65535, &port, NULL))
        return FALSE;
    out->set = TRUE;
    out->host = host;
    out->port = (uint16_t)port;
    return TRUE;
}

void cn_endpoint_format(CnEndpoint endpoint, char out[CN_ENDPOINT_STR_MAX])
{
    char host[CN_V4_STR_MAX];
    cn_v4_format(endpoint.host, host);
    g_snprintf(out, CN_ENDPOINT_STR_MAX, "%s:%u", host, endpoint.port);
}

gboolean cn_endpoint_equal(CnEndpoint a, CnEndpoint b)
{
    return a.set == b.set && (!a.set || (a.host == b.host && a.port == b.port));
}

char *cn_user_socket_path(const char *socket_dir, const char *machine, GError **error)
{
    g_autofree char *path = g_strdup_printf("%s/%s.sock", socket_dir, machine);
    if (!g_path_is_absolute(socket_dir)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "socket directory %s is not an absolute path",
                    socket_dir);
        return NULL;
    }
    if (strlen(path) >= CN_UNIX_PATH_MAX) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    "%s is longer than a UNIX socket's %d characters (choose a shorter --socket-dir)", path,
                    CN_UNIX_PATH_MAX - 1);
        return NULL;
    }
    for (const char *c = path; *c; c++) {
        if (!g_ascii_isalnum(*c) && !strchr("/_.-+@:", *c)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: QEMU's guestfwd cannot carry '%c' (socket directories are letters, digits and /_.-+@:)",
                        path, *c);
            return NULL;
        }
    }
    return g_steal_pointer(&path);
}

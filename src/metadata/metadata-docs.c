/* metadata-docs.c - see metadata-docs.h */
#include <string.h>

#include "json-writer.h"
#include "metadata-docs.h"
#include "netaddr.h"

#define TEXT "text/plain; charset=utf-8"
#define YAML "text/yaml; charset=utf-8"
#define DATA "application/octet-stream"

void cn_metadata_files_free(CnMetadataFiles *files)
{
    if (!files)
        return;
    if (files->user_data)
        g_bytes_unref(files->user_data);
    if (files->vendor_data)
        g_bytes_unref(files->vendor_data);
    g_free(files->instance_id);
    g_free(files);
}

static const char *instance_id(const CnMetadataGuest *guest)
{
    if (guest->files && guest->files->instance_id)
        return guest->files->instance_id;
    return guest->link->machine_name;
}

/* A YAML double-quoted scalar (the loader keeps instance ids to printable
 * ASCII; names are DNS names). */
static void append_yaml_string(GString *out, const char *text)
{
    g_string_append_c(out, '"');
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

static GBytes *meta_data(const CnMetadataGuest *guest)
{
    GString *out = g_string_new("instance-id: ");
    append_yaml_string(out, instance_id(guest));
    g_string_append(out, "\nlocal-hostname: ");
    append_yaml_string(out, guest->link->machine_name);
    g_string_append_c(out, '\n');
    return g_string_free_to_bytes(out);
}

static void append_v4(GString *out, const char *prefix, uint32_t address, const char *suffix)
{
    char text[CN_V4_STR_MAX];
    cn_v4_format(address, text);
    g_string_append_printf(out, "%s%s%s", prefix, text, suffix);
}

/* One link under "ethernets:".  With DHCP the guest gets its reserved
 * address, routes and DNS from libvirt's dnsmasq; without, the same is
 * written out. */
static void network_config_link(GString *out, const CnLink *link)
{
    char mac[CN_MAC_STR_MAX];
    cn_mac_format(link->mac, mac);
    g_string_append_printf(out, "  %s:\n    match:\n      macaddress: \"%s\"\n    set-name: %s\n", link->iface, mac,
                           link->iface);
    uint32_t mtu = cn_link_effective_mtu(link);
    if (mtu)
        g_string_append_printf(out, "    mtu: %u\n", mtu);
    const CnNetwork *net = link->net;
    if (!net || !net->has_v4)
        return; /* addressed from outside carthage-net */
    unsigned prefix = net->v4_subnet.prefix;
    gboolean dhcp = net->v4_dhcp;
    g_string_append_printf(out, "    dhcp4: %s\n", dhcp ? "true" : "false");
    GArray *secondary = link->v4_secondary;
    gboolean static_main = !dhcp && link->v4_source != CN_V4_NONE;
    if (static_main || (secondary && secondary->len)) {
        g_string_append(out, "    addresses:\n");
        char suffix[8];
        g_snprintf(suffix, sizeof suffix, "/%u\n", prefix);
        if (static_main)
            append_v4(out, "      - ", link->v4_address, suffix);
        for (guint i = 0; secondary && i < secondary->len; i++)
            append_v4(out, "      - ", g_array_index(secondary, CnSecondaryAddress, i).private_address, suffix);
    }
    if (dhcp || !net->v4_gateway)
        return;
    gboolean routed = net->forward != CN_FORWARD_ISOLATED;
    if (routed || net->metadata) {
        g_string_append(out, "    routes:\n");
        if (routed)
            append_v4(out, "      - to: 0.0.0.0/0\n        via: ", net->v4_gateway, "\n");
        if (net->metadata) {
            append_v4(out, "      - to: ", net->metadata_address, "/32\n");
            append_v4(out, "        via: ", net->v4_gateway, "\n");
        }
    }
    append_v4(out, "    nameservers:\n      addresses: [", net->v4_gateway, "]\n");
    if (net->v4_domain)
        g_string_append_printf(out, "      search: [%s]\n", net->v4_domain);
}

static GBytes *network_config(const CnMetadataGuest *guest)
{
    GString *out = g_string_new("version: 2\nethernets:\n");
    const CnMachine *machine = guest->link->machine;
    if (machine) {
        for (guint i = 0; i < machine->links->len; i++)
            network_config_link(out, machine->links->pdata[i]);
    } else {
        network_config_link(out, guest->link);
    }
    return g_string_free_to_bytes(out);
}

static GBytes *text_line(const char *text)
{
    return g_bytes_new_take(g_strconcat(text, "\n", NULL), strlen(text) + 1);
}

static GBytes *v4_line(uint32_t address)
{
    char text[CN_V4_STR_MAX];
    cn_v4_format(address, text);
    return text_line(text);
}

/* EC2's meta-data keys, after "meta-data/"; NULL when not there. */
static GBytes *ec2_meta_data(const CnMetadataGuest *guest, const char *key)
{
    if (strcmp(key, "") == 0) {
        GString *keys = g_string_new("instance-id\nlocal-hostname\nlocal-ipv4\nmac\n");
        if (guest->public_address)
            g_string_append(keys, "public-ipv4\n");
        return g_string_free_to_bytes(keys);
    }
    if (strcmp(key, "instance-id") == 0)
        return text_line(instance_id(guest));
    if (strcmp(key, "local-hostname") == 0)
        return text_line(guest->link->machine_name);
    if (strcmp(key, "local-ipv4") == 0)
        return v4_line(guest->address);
    if (strcmp(key, "public-ipv4") == 0)
        return guest->public_address ? v4_line(guest->public_address) : NULL;
    if (strcmp(key, "mac") == 0) {
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(guest->link->mac, mac);
        return text_line(mac);
    }
    return NULL;
}

GBytes *cn_metadata_identity_document(const CnMetadataGuest *guest)
{
    const CnLink *link = guest->link;
    char mac[CN_MAC_STR_MAX], private_ip[CN_V4_STR_MAX], public_ip[CN_V4_STR_MAX];
    cn_mac_format(link->mac, mac);
    cn_v4_format(guest->address, private_ip);
    cn_v4_format(guest->public_address, public_ip);
    g_autoptr(CnJson) json = cn_json_new();
    cn_json_begin_object(json);
    cn_json_member_string(json, "version", "carthage-net/1");
    cn_json_member_string(json, "instanceId", instance_id(guest));
    cn_json_member_string(json, "machine", link->machine_name);
    cn_json_member_string(json, "interface", link->iface);
    cn_json_member_string(json, "network", link->net ? link->net->name : NULL);
    cn_json_member_string(json, "mac", mac);
    cn_json_member_string(json, "privateIp", private_ip);
    cn_json_member_string(json, "publicIp", guest->public_address ? public_ip : NULL);
    cn_json_member_string(json, "hypervisor", guest->identity->hypervisor);
    cn_json_member_string(json, "keyId", guest->identity->key_id);
    cn_json_end_object(json);
    char *text = cn_json_steal(g_steal_pointer(&json));
    return g_bytes_new_take(text, strlen(text));
}

/* ".../dynamic/...": REST after "dynamic/"; NULL when not there. */
static GBytes *dynamic(const CnMetadataGuest *guest, const char *rest)
{
    if (strcmp(rest, "") == 0)
        return g_bytes_new_static("instance-identity/\n", 19);
    if (strcmp(rest, "instance-identity") == 0 || strcmp(rest, "instance-identity/") == 0)
        return g_bytes_new_static("document\nsignature\n", 19);
    if (strcmp(rest, "instance-identity/document") == 0)
        return cn_metadata_identity_document(guest);
    if (strcmp(rest, "instance-identity/signature") != 0)
        return NULL;
    g_autoptr(GBytes) document = cn_metadata_identity_document(guest);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) signature = guest->identity->sign(document, guest->identity->sign_data, &error);
    if (!signature)
        return NULL;
    /* Base64, one line, as EC2 gives its signatures. */
    gsize length;
    const guchar *raw = g_bytes_get_data(signature, &length);
    g_autofree char *text = g_base64_encode(raw, length);
    return text_line(text);
}

/* "/latest/..." and "/2009-04-04/...": REST after the version. */
static CnMetadataResult ec2(const CnMetadataGuest *guest, const char *rest, GBytes **body, const char **type)
{
    *type = TEXT;
    if (strcmp(rest, "") == 0) {
        *body = guest->identity ? g_bytes_new_static("dynamic/\nmeta-data/\nuser-data\n", 30)
                                : g_bytes_new_static("meta-data/\nuser-data\n", 21);
        return CN_METADATA_FOUND;
    }
    if (guest->identity && (strcmp(rest, "dynamic") == 0 || g_str_has_prefix(rest, "dynamic/"))) {
        *body = dynamic(guest, rest[strlen("dynamic")] ? rest + strlen("dynamic/") : "");
        if (*body && g_str_has_suffix(rest, "/document"))
            *type = "application/json";
        return *body ? CN_METADATA_FOUND : CN_METADATA_NOT_FOUND;
    }
    if (strcmp(rest, "user-data") == 0) {
        if (!guest->files || !guest->files->user_data)
            return CN_METADATA_NOT_FOUND; /* as EC2 answers a machine without user data */
        *body = g_bytes_ref(guest->files->user_data);
        *type = DATA;
        return CN_METADATA_FOUND;
    }
    if (strcmp(rest, "meta-data") == 0)
        rest = "meta-data/";
    if (!g_str_has_prefix(rest, "meta-data/"))
        return CN_METADATA_NOT_FOUND;
    *body = ec2_meta_data(guest, rest + strlen("meta-data/"));
    return *body ? CN_METADATA_FOUND : CN_METADATA_NOT_FOUND;
}

static GBytes *data_or_empty(GBytes *data)
{
    return data ? g_bytes_ref(data) : g_bytes_new_static("", 0);
}

CnMetadataResult cn_metadata_document(const CnMetadataGuest *guest, const char *path, GBytes **body,
                                      const char **content_type)
{
    *body = NULL;
    *content_type = TEXT;
    if (strcmp(path, "/") == 0) {
        *body = g_bytes_new_static("2009-04-04\nlatest\n", 18);
        return CN_METADATA_FOUND;
    }
    if (strcmp(path, "/meta-data") == 0) {
        *content_type = YAML;
        *body = meta_data(guest);
        return CN_METADATA_FOUND;
    }
    if (strcmp(path, "/network-config") == 0) {
        *content_type = YAML;
        *body = network_config(guest);
        return CN_METADATA_FOUND;
    }
    /* NoCloud wants both; an empty document is "nothing to do". */
    if (strcmp(path, "/user-data") == 0 || strcmp(path, "/vendor-data") == 0) {
        const CnMetadataFiles *files = guest->files;
        *content_type = DATA;
        *body = data_or_empty(files ? (path[1] == 'u' ? files->user_data : files->vendor_data) : NULL);
        return CN_METADATA_FOUND;
    }
    static const char *const versions[] = { "/latest", "/2009-04-04" };
    for (guint i = 0; i < G_N_ELEMENTS(versions); i++) {
        gsize length = strlen(versions[i]);
        if (strncmp(path, versions[i], length) == 0 && (path[length] == '/' || path[length] == '\0'))
            return ec2(guest, path[length] ? path + length + 1 : "", body, content_type);
    }
    return CN_METADATA_NOT_FOUND;
}

/* --- the index ------------------------------------------------------------- */

struct CnMetadataIndex {
    GHashTable *by_address; /* GUINT_TO_POINTER(address) -> GPtrArray of CnLink* (borrowed) */
};

static void index_add(CnMetadataIndex *index, uint32_t address, const CnLink *link)
{
    GPtrArray *links = g_hash_table_lookup(index->by_address, GUINT_TO_POINTER(address));
    if (!links) {
        links = g_ptr_array_new();
        g_hash_table_insert(index->by_address, GUINT_TO_POINTER(address), links);
    }
    g_ptr_array_add(links, (gpointer)link);
}

CnMetadataIndex *cn_metadata_index_new(const CnSite *site)
{
    CnMetadataIndex *index = g_new0(CnMetadataIndex, 1);
    index->by_address = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < site->links->len; i++) {
        const CnLink *link = site->links->pdata[i];
        if (!link->net || !link->net->metadata)
            continue;
        if (link->v4_source != CN_V4_NONE)
            index_add(index, link->v4_address, link);
        for (guint j = 0; link->v4_secondary && j < link->v4_secondary->len; j++)
            index_add(index, g_array_index(link->v4_secondary, CnSecondaryAddress, j).private_address, link);
    }
    return index;
}

void cn_metadata_index_free(CnMetadataIndex *index)
{
    if (!index)
        return;
    g_hash_table_unref(index->by_address);
    g_free(index);
}

GPtrArray *cn_metadata_index_lookup(const CnMetadataIndex *index, uint32_t source)
{
    return g_hash_table_lookup(index->by_address, GUINT_TO_POINTER(source));
}

GArray *cn_metadata_default_endpoints(const CnSite *site)
{
    GArray *endpoints = g_array_new(FALSE, FALSE, sizeof(CnEndpoint));
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (!net->metadata || !net->metadata_handler.set)
            continue;
        CnEndpoint endpoint = net->metadata_handler;
        if (!endpoint.host)
            endpoint.host = net->v4_gateway;
        gboolean seen = FALSE;
        for (guint j = 0; j < endpoints->len && !seen; j++) {
            const CnEndpoint *other = &g_array_index(endpoints, CnEndpoint, j);
            seen = other->host == endpoint.host && other->port == endpoint.port;
        }
        if (!seen)
            g_array_append_val(endpoints, endpoint);
    }
    return endpoints;
}

uint32_t cn_metadata_public_address(const CnLink *link, uint32_t address, uint32_t outbound)
{
    if (link->v4_source != CN_V4_NONE && address == link->v4_address && link->v4_public_address)
        return link->v4_public_address;
    for (guint i = 0; link->v4_secondary && i < link->v4_secondary->len; i++) {
        const CnSecondaryAddress *pair = &g_array_index(link->v4_secondary, CnSecondaryAddress, i);
        if (pair->private_address == address && pair->public_address)
            return pair->public_address;
    }
    if (link->net && link->net->forward == CN_FORWARD_NAT)
        return outbound;
    return 0;
}

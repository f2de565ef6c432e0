/* hook-xml.c - libvirt's hook XML into HookInput, with GMarkup.
 *
 * Only the parts the hook uses are read; everything else is skipped.
 * carthage-net's elements are recognised by their namespace URI, whatever
 * prefix they carry.
 */
#include <string.h>

#include "hook.h"
#include "netaddr.h"
#include "xml-ns.h"

G_DEFINE_QUARK(carthage-net-hook-error-quark, hook_error)

typedef struct {
    HookInput *input;
    GPtrArray *stack;      /* element names as written (prefix:local) */
    GHashTable *ours;      /* prefixes bound to carthage-net's namespace */
    GString *text;         /* text of the element being collected, or NULL */
    char **text_target;
} Parser;

static void pool_free(gpointer data)
{
    HookPool *pool = data;
    g_free(pool->name);
    g_free(pool->prefix);
    g_free(pool);
}

static void interface_free(gpointer data)
{
    HookInterface *iface = data;
    g_free(iface->type);
    g_free(iface->network);
    g_free(iface->tap);
    g_free(iface);
}

static void link_free(gpointer data)
{
    HookLink *link = data;
    g_free(link->network);
    g_free(link->iface);
    g_array_unref(link->addresses);
    g_array_unref(link->nat);
    g_free(link->tap);
    g_free(link->ovn_port);
    g_free(link);
}

void hook_input_free(HookInput *input)
{
    if (!input)
        return;
    g_free(input->network.name);
    g_free(input->network.bridge);
    cn_iso_network_free(input->network.iso);
    cn_hook_record_free(input->network.record);
    g_ptr_array_unref(input->network.pools);
    g_free(input->port.owner);
    g_free(input->domain.name);
    g_free(input->domain.machine);
    g_ptr_array_unref(input->domain.interfaces);
    g_ptr_array_unref(input->domain.links);
    g_free(input);
}

static const char *attr(const char **names, const char **values, const char *name)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], name) == 0)
            return values[i];
    }
    return NULL;
}

/* Is NAME ("prefix:local") carthage-net's LOCAL element? */
static gboolean is_ours(Parser *p, const char *name, const char *local)
{
    const char *colon = strchr(name, ':');
    if (!colon || strcmp(colon + 1, local) != 0)
        return FALSE;
    g_autofree char *prefix = g_strndup(name, (gsize)(colon - name));
    return g_hash_table_contains(p->ours, prefix);
}

static gboolean at(Parser *p, int depth, const char *const *path)
{
    if ((int)p->stack->len != depth)
        return FALSE;
    for (int i = 0; i < depth; i++) {
        if (path[i] && strcmp(p->stack->pdata[i], path[i]) != 0)
            return FALSE;
    }
    return TRUE;
}

#define AT(p, ...) at((p), G_N_ELEMENTS(((const char *const[]){ __VA_ARGS__ })), (const char *const[]){ __VA_ARGS__ })


static gboolean parse_mac_attr(const char *text, uint8_t mac[6], GError **error)
{
    if (text && cn_mac_parse(text, mac))
        return TRUE;
    g_set_error(error, HOOK_ERROR, 0, "bad MAC address '%s' in the XML", text ? text : "");
    return FALSE;
}

/* "A B C" into ADDRESSES */
static gboolean parse_addresses(const char *text, GArray *addresses, GError **error)
{
    if (!text)
        return TRUE;
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    for (char **w = words; *w; w++) {
        uint32_t address;
        if (**w == '\0')
            continue;
        if (!cn_v4_parse(*w, &address)) {
            g_set_error(error, HOOK_ERROR, 0, "bad IPv4 address '%s' in carthage-net metadata", *w);
            return FALSE;
        }
        g_array_append_val(addresses, address);
    }
    return TRUE;
}

/* "PRIVATE=PUBLIC ..." into PAIRS */
static gboolean parse_nat(const char *text, GArray *pairs, GError **error)
{
    if (!text)
        return TRUE;
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    for (char **pair = words; *pair; pair++) {
        if (**pair == '\0')
            continue;
        g_auto(GStrv) halves = g_strsplit(*pair, "=", 2);
        CnIsoNat entry;
        if (g_strv_length(halves) != 2 || !cn_v4_parse(halves[0], &entry.private_address) ||
            !cn_v4_parse(halves[1], &entry.public_address)) {
            g_set_error(error, HOOK_ERROR, 0, "bad NAT pair '%s'", *pair);
            return FALSE;
        }
        g_array_append_val(pairs, entry);
    }
    return TRUE;
}

/* The layer-2 guards.  XML without them (rendered by an older
 * carthage-net) gets what the definitions' defaults would give. */
static gboolean network_guards(CnIsoNetwork *iso, const char **names, const char **values, GError **error)
{
    const char *ipv6 = attr(names, values, "ipv6");
    if (!ipv6)
        iso->ipv6 = iso->metadata ? CN_IPV6_DROP : CN_IPV6_PINNED;
    else if (strcmp(ipv6, "drop") == 0)
        iso->ipv6 = CN_IPV6_DROP;
    else if (strcmp(ipv6, "pinned") == 0)
        iso->ipv6 = CN_IPV6_PINNED;
    else {
        g_set_error(error, HOOK_ERROR, 0, "bad ipv6 mode '%s' in carthage-net metadata", ipv6);
        return FALSE;
    }
    const char *prefix = attr(names, values, "ipv6-network");
    unsigned length;
    if (prefix && (!cn_v6_cidr_parse(prefix, &iso->v6_prefix, &length) || length != 64)) {
        g_set_error(error, HOOK_ERROR, 0, "bad ipv6-network '%s' in carthage-net metadata", prefix);
        return FALSE;
    }
    iso->has_v6_prefix = prefix != NULL;
    const char *limit = attr(names, values, "broadcast-limit");
    guint64 value = 1000;
    if (limit && !g_ascii_string_to_unsigned(limit, 10, 0, 1000000, &value, NULL)) {
        g_set_error(error, HOOK_ERROR, 0, "bad broadcast-limit '%s' in carthage-net metadata", limit);
        return FALSE;
    }
    iso->broadcast_limit = (uint32_t)value;
    const char *types = attr(names, values, "ethertypes");
    g_auto(GStrv) words = g_strsplit(types ? types : "", " ", -1);
    for (char **w = words; *w; w++) {
        guint64 type;
        if (**w == '\0')
            continue;
        if (!g_str_has_prefix(*w, "0x") || !g_ascii_string_to_unsigned(*w + 2, 16, 0x0600, 0xffff, &type, NULL)) {
            g_set_error(error, HOOK_ERROR, 0, "bad ethertype '%s' in carthage-net metadata", *w);
            return FALSE;
        }
        uint16_t type16 = (uint16_t)type;
        g_array_append_val(iso->ethertypes, type16);
    }
    return TRUE;
}

static gboolean network_metadata(Parser *p, const char **names, const char **values, GError **error)
{
    HookNetwork *net = &p->input->network;
    const char *name = attr(names, values, "name");
    const char *bridge = attr(names, values, "bridge");
    if (!name || !bridge) {
        g_set_error(error, HOOK_ERROR, 0, "carthage-net network metadata without name or bridge");
        return FALSE;
    }
    net->ours = TRUE;
    cn_iso_network_free(net->iso);
    net->iso = cn_iso_network_new(name, bridge);
    net->iso->isolate_guests = g_strcmp0(attr(names, values, "isolate-guests"), "yes") == 0;
    const char *metadata = attr(names, values, "metadata");
    if (metadata) {
        CnEndpoint endpoint = { 0 };
        if (!cn_endpoint_parse(metadata, FALSE, &endpoint)) {
            g_set_error(error, HOOK_ERROR, 0, "bad metadata endpoint '%s'", metadata);
            return FALSE;
        }
        net->iso->metadata = TRUE;
        net->iso->metadata_address = endpoint.host;
        net->iso->metadata_port = endpoint.port;
    }
    const char *handler = attr(names, values, "handler");
    if (handler && !cn_endpoint_parse(handler, FALSE, &net->iso->default_handler)) {
        g_set_error(error, HOOK_ERROR, 0, "bad handler endpoint '%s'", handler);
        return FALSE;
    }
    const char *gateway = attr(names, values, "gateway");
    if (gateway && !cn_v4_parse(gateway, &net->iso->gateway)) {
        g_set_error(error, HOOK_ERROR, 0, "bad gateway '%s'", gateway);
        return FALSE;
    }
    cn_hook_record_free(net->record);
    net->record = cn_hook_record_new(name, bridge);
    return network_guards(net->iso, names, values, error);
}

static gboolean network_guest(Parser *p, const char **names, const char **values, GError **error)
{
    HookNetwork *net = &p->input->network;
    uint8_t mac[6];
    if (!net->iso || !parse_mac_attr(attr(names, values, "mac"), mac, error))
        return net->iso == NULL;
    /* The record keeps the domain that may use the MAC: the machine's
     * domain_name when it has one. */
    const char *machine = attr(names, values, "domain");
    if (!machine)
        machine = attr(names, values, "machine");
    const char *iface = attr(names, values, "iface");
    g_autoptr(GArray) addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (!parse_addresses(attr(names, values, "ipv4"), addresses, error))
        return FALSE;
    for (guint i = 0; i < addresses->len; i++) {
        CnIsoReservation reservation = { g_array_index(addresses, uint32_t, i), { 0 } };
        memcpy(reservation.mac, mac, 6);
        g_array_append_val(net->iso->reservations, reservation);
    }
    const char *handler = attr(names, values, "handler");
    CnIsoHandler entry = { { 0 }, { 0 } };
    if (handler) {
        memcpy(entry.mac, mac, 6);
        if (!cn_endpoint_parse(handler, FALSE, &entry.handler)) {
            g_set_error(error, HOOK_ERROR, 0, "bad handler endpoint '%s'", handler);
            return FALSE;
        }
        g_array_append_val(net->iso->handlers, entry);
    }
    /* What the record can carry (carthage-net always writes both). */
    if (machine && cn_dns_name_is_valid(machine) && iface && cn_ifname_is_valid(iface))
        cn_hook_record_add_guest(net->record, machine, iface, mac, addresses, entry.handler);
    return parse_nat(attr(names, values, "nat"), net->iso->nat, error);
}

static gboolean domain_link(Parser *p, const char **names, const char **values, GError **error)
{
    HookLink *link = g_new0(HookLink, 1);
    link->addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    link->nat = g_array_new(FALSE, FALSE, sizeof(CnIsoNat));
    g_ptr_array_add(p->input->domain.links, link);
    link->network = g_strdup(attr(names, values, "network"));
    link->iface = g_strdup(attr(names, values, "iface"));
    link->tap = g_strdup(attr(names, values, "tap"));
    link->ovn_port = g_strdup(attr(names, values, "ovn-port"));
    const char *snat = attr(names, values, "snat");
    if (snat && !cn_v4_parse(snat, &link->snat)) {
        g_set_error(error, HOOK_ERROR, 0, "bad SNAT address '%s' in carthage-net metadata", snat);
        return FALSE;
    }
    const char *handler = attr(names, values, "handler");
    if (handler && !cn_endpoint_parse(handler, FALSE, &link->handler)) {
        g_set_error(error, HOOK_ERROR, 0, "bad handler endpoint '%s'", handler);
        return FALSE;
    }
    const char *v6 = attr(names, values, "ipv6");
    if (v6 && !(link->has_v6 = cn_v6_parse(v6, &link->v6))) {
        g_set_error(error, HOOK_ERROR, 0, "bad IPv6 address '%s' in carthage-net metadata", v6);
        return FALSE;
    }
    return parse_mac_attr(attr(names, values, "mac"), link->mac, error) &&
           parse_addresses(attr(names, values, "ipv4"), link->addresses, error) &&
           parse_nat(attr(names, values, "nat"), link->nat, error);
}

/* Sets *SLOT to a copy of VALUE; an element repeated in the XML replaces
 * the earlier value rather than leaking it. */
static void replace(char **slot, const char *value)
{
    g_free(*slot);
    *slot = g_strdup(value);
}

static void collect_text(Parser *p, char **target)
{
    if (p->text)
        g_string_free(p->text, TRUE);
    p->text = g_string_new(NULL);
    p->text_target = target;
}

static void on_start(GMarkupParseContext *context, const char *element, const char **names,
                     const char **values, gpointer data, GError **error)
{
    Parser *p = data;
    HookInput *in = p->input;

    for (int i = 0; names[i]; i++) {
        if (g_str_has_prefix(names[i], "xmlns:") && strcmp(values[i], CN_XML_NS) == 0)
            g_hash_table_add(p->ours, g_strdup(names[i] + 6));
    }
    g_ptr_array_add(p->stack, g_strdup(element));

    if (AT(p, "domain")) {
        in->has_domain = TRUE;
    } else if (AT(p, "domain", "name")) {
        collect_text(p, &in->domain.name);
    } else if (AT(p, "domain", "devices", "interface")) {
        HookInterface *iface = g_new0(HookInterface, 1);
        iface->type = g_strdup(attr(names, values, "type"));
        g_ptr_array_add(in->domain.interfaces, iface);
    } else if (in->domain.interfaces->len && p->stack->len == 4 && AT(p, "domain", "devices", "interface", NULL)) {
        HookInterface *iface = g_ptr_array_index(in->domain.interfaces, in->domain.interfaces->len - 1);
        if (strcmp(element, "mac") == 0)
            iface->has_mac = parse_mac_attr(attr(names, values, "address"), iface->mac, error);
        else if (strcmp(element, "source") == 0)
            replace(&iface->network, attr(names, values, "network"));
        else if (strcmp(element, "target") == 0)
            replace(&iface->tap, attr(names, values, "dev"));
    } else if (AT(p, "domain", "metadata", NULL) && is_ours(p, element, "machine")) {
        const char *machine = attr(names, values, "name");
        if (machine && cn_dns_name_is_valid(machine))
            replace(&in->domain.machine, machine);
    } else if (AT(p, "domain", "metadata", NULL, NULL) && is_ours(p, p->stack->pdata[2], "machine") &&
               is_ours(p, element, "link")) {
        domain_link(p, names, values, error);
    } else if (AT(p, "hookData", "network")) {
        in->has_network = TRUE;
    } else if (AT(p, "hookData", "network", "name")) {
        collect_text(p, &in->network.name);
    } else if (AT(p, "hookData", "network", "bridge")) {
        replace(&in->network.bridge, attr(names, values, "name"));
    } else if (AT(p, "hookData", "network", "forward")) {
        /* Announced only where the host's outbound address is what guests
         * leave with: not when libvirt masquerades to an address range of
         * its own (<nat><address>) or only out of one device (dev=). */
        in->network.masquerade = g_strcmp0(attr(names, values, "mode"), "nat") == 0 && !attr(names, values, "dev");
    } else if (AT(p, "hookData", "network", "forward", "nat", "address")) {
        in->network.masquerade = FALSE;
    } else if (AT(p, "hookData", "network", "mtu")) {
        const char *size = attr(names, values, "size");
        guint64 mtu;
        if (size && g_ascii_string_to_unsigned(size, 10, 68, 65535, &mtu, NULL))
            in->network.mtu = (uint32_t)mtu;
    } else if (AT(p, "hookData", "network", "metadata", NULL) && is_ours(p, element, "network")) {
        network_metadata(p, names, values, error);
    } else if (AT(p, "hookData", "network", "metadata", NULL, NULL) && is_ours(p, p->stack->pdata[3], "network")) {
        if (is_ours(p, element, "guest")) {
            network_guest(p, names, values, error);
        } else if (is_ours(p, element, "pool")) {
            HookPool *pool = g_new0(HookPool, 1);
            pool->name = g_strdup(attr(names, values, "name"));
            pool->prefix = g_strdup(attr(names, values, "prefix"));
            g_ptr_array_add(in->network.pools, pool);
        }
    } else if (AT(p, "hookData", "networkport")) {
        in->port.present = TRUE;
    } else if (AT(p, "hookData", "networkport", "owner", "name")) {
        collect_text(p, &in->port.owner);
    } else if (AT(p, "hookData", "networkport", "mac")) {
        in->port.has_mac = parse_mac_attr(attr(names, values, "address"), in->port.mac, error);
    }
}

static void on_end(GMarkupParseContext *context, const char *element, gpointer data, GError **error)
{
    Parser *p = data;
    if (p->text) {
        g_free(*p->text_target);
        *p->text_target = g_string_free(p->text, FALSE);
        p->text = NULL;
    }
    g_ptr_array_set_size(p->stack, p->stack->len - 1);
}

static void on_text(GMarkupParseContext *context, const char *text, gsize length, gpointer data,
                    GError **error)
{
    Parser *p = data;
    if (p->text)
        g_string_append_len(p->text, text, (gssize)length);
}

static HookInput *input_new(void)
{
    HookInput *input = g_new0(HookInput, 1);
    input->network.pools = g_ptr_array_new_with_free_func(pool_free);
    input->domain.interfaces = g_ptr_array_new_with_free_func(interface_free);
    input->domain.links = g_ptr_array_new_with_free_func(link_free);
    return input;
}

/* TEXT into INPUT, read as if inside the elements OPEN (NULL-terminated). */
static gboolean parse_into(HookInput *input, const char *const *open, const char *text, gsize length,
                           GError **error)
{
    static const GMarkupParser callbacks = { on_start, on_end, on_text, NULL, NULL };
    Parser p = { input, g_ptr_array_new_with_free_func(g_free),
                 g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), NULL, NULL };
    for (; *open; open++)
        g_ptr_array_add(p.stack, g_strdup(*open));

    GMarkupParseContext *context = g_markup_parse_context_new(&callbacks, 0, &p, NULL);
    gboolean ok = g_markup_parse_context_parse(context, text, (gssize)length, error) &&
                  g_markup_parse_context_end_parse(context, error);
    g_markup_parse_context_free(context);
    if (p.text)
        g_string_free(p.text, TRUE);
    g_ptr_array_unref(p.stack);
    g_hash_table_unref(p.ours);
    return ok;
}

/* The last occurrence of the LENGTH bytes NEEDLE in [TEXT, END), or NULL. */
static const char *find_last(const char *text, const char *end, const char *needle, gsize length)
{
    if ((gsize)(end - text) < length)
        return NULL;
    for (const char *at = end - length;; at--) {
        if (*at == needle[0] && memcmp(at, needle, length) == 0)
            return at;
        if (at == text)
            return NULL;
    }
}

/* XML's white space (not \f or \v, which g_ascii_isspace also takes). */
static gboolean is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first byte of [AT, END) that is not XML's white space, or END. */
static const char *skip_xml_space(const char *at, const char *end)
{
    while (at < end && is_xml_space(*at))
        at++;
    return at;
}

HookInput *hook_input_parse_port(const char *text, gsize length, GError **error)
{
    static const char close_tag[] = "</networkport>";
    static const char open_tag[] = "<networkport";
    const char *end = text + length;
    const char *close = find_last(text, end, close_tag, strlen(close_tag));
    const char *open = close ? find_last(text, close, open_tag, strlen(open_tag)) : NULL;
    /* Followed by what ends an element name ("<networkport>", or with
     * attributes), not by a longer name. */
    if (!open || !(is_xml_space(open[strlen(open_tag)]) || open[strlen(open_tag)] == '>'))
        return NULL;
    /* The port is hookData's last child: nothing but </hookData> after
     * it, so that it cannot be one nested elsewhere. */
    const char *rest = skip_xml_space(close + strlen(close_tag), end);
    static const char end_tag[] = "</hookData>";
    if ((gsize)(end - rest) < strlen(end_tag) || memcmp(rest, end_tag, strlen(end_tag)) != 0)
        return NULL;
    if (skip_xml_space(rest + strlen(end_tag), end) != end)
        return NULL;
    static const char *const inside[] = { "hookData", NULL };
    g_autoptr(HookInput) input = input_new();
    gsize port_length = (gsize)(close + strlen(close_tag) - open);
    if (!parse_into(input, inside, open, port_length, error)) {
        /* GMarkup counts from the port's start. */
        g_prefix_error(error, "in <networkport> at byte %zu of stdin: ", (size_t)(open - text));
        return NULL;
    }
    return g_steal_pointer(&input);
}

HookInput *hook_input_parse(const char *text, gsize length, GError **error)
{
    static const char *const top[] = { NULL };
    HookInput *input = input_new();
    gboolean ok = parse_into(input, top, text, length, error);
    if (ok && !input->has_network && !input->has_domain) {
        g_set_error(error, HOOK_ERROR, 0, "stdin holds neither <hookData><network> nor <domain>");
        ok = FALSE;
    }
    if (ok && input->has_network && !input->network.name) {
        g_set_error(error, HOOK_ERROR, 0, "network XML without a <name>");
        ok = FALSE;
    }
    if (!ok) {
        hook_input_free(input);
        return NULL;
    }
    return input;
}

const HookLink *hook_domain_link(const HookDomain *domain, const uint8_t mac[6])
{
    for (guint i = 0; i < domain->links->len; i++) {
        const HookLink *link = domain->links->pdata[i];
        if (memcmp(link->mac, mac, 6) == 0)
            return link;
    }
    return NULL;
}

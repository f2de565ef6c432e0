/* render-seed.c - the NoCloud seed in a domain's XML (see render.h):
 * what a guest needs before its network is up, through the firmware.
 *
 *   <sysinfo type='smbios'><system><entry name='serial'>
 *       ds=nocloud;i=INSTANCE-ID;h=HOSTNAME
 *       ds=nocloud-net;i=INSTANCE-ID;h=HOSTNAME;s=http://METADATA-ADDRESS/
 *   </entry></system></sysinfo>
 *   <sysinfo type='fwcfg'>
 *     <entry name='opt/org.carthage-net/meta-data'>...</entry>
 *     <entry name='opt/org.carthage-net/network-config'>...</entry>
 *     <entry name='opt/org.carthage-net/user-data'>...</entry>    (when any)
 *     <entry name='opt/org.carthage-net/vendor-data'>...</entry>  (when any)
 *   </sysinfo>
 *   <os><smbios mode='sysinfo'/></os>
 *
 * cloud-init reads the serial (/sys/class/dmi/id/product_serial): "i" and
 * "h" are its instance-id and local-hostname, "s" the NoCloud-net URL on
 * a metadata network whose link does not require IMDSv2 tokens (cloud-init
 * sends none).  The documents themselves are fw_cfg entries, for a reader
 * in the guest (stock cloud-init does not read fw_cfg): they are at
 * /sys/firmware/qemu_fw_cfg/by_name/opt/org.carthage-net/NAME/raw (module
 * qemu_fw_cfg) before any network, user-mode guests included.  libvirt
 * hands an entry's text to QEMU on its command line: each is at most
 * CN_SEED_ENTRY_MAX bytes, and readable on the host like the domain XML.
 * The documents are those the built-in metadata handler serves
 * (metadata-docs.h), for the machine's first link on a metadata network,
 * else its first link.  Only the serial and carthage-net's own entries are
 * replaced: the rest of the base's sysinfo stays. */
#include <string.h>

#include "metadata-docs.h"
#include "netaddr.h"
#include "render.h"

#define FWCFG_PREFIX "opt/org.carthage-net/"
#define CN_SEED_ENTRY_MAX 65536 /* bytes: well under Linux's 128 KiB for one argument */

static const CnLink *seed_link(const CnMachine *machine)
{
    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (link->net && link->net->metadata)
            return link;
    }
    return machine->links->len ? machine->links->pdata[0] : NULL;
}

/* A value cloud-init's "ds=nocloud;k=v;..." can carry as it is. */
static gboolean plain_value(const char *text)
{
    return text && *text && !strpbrk(text, ";= \t\n\\");
}

static char *smbios_serial(const CnMetadataGuest *guest)
{
    const CnLink *link = guest->link;
    const char *id = guest->files && guest->files->instance_id ? guest->files->instance_id : link->machine_name;
    gboolean seed_url = link->net && link->net->metadata && !cn_network_in_ovn(link->net) &&
                        cn_link_metadata_tokens(link) != CN_TOKENS_REQUIRED;
    /* cloud-init before 24.1 takes an http:// seed only as nocloud-net. */
    GString *serial = g_string_new(seed_url ? "ds=nocloud-net" : "ds=nocloud");
    if (plain_value(id))
        g_string_append_printf(serial, ";i=%s", id);
    g_string_append_printf(serial, ";h=%s", link->machine_name);
    if (seed_url) {
        char address[CN_V4_STR_MAX];
        cn_v4_format(link->net->metadata_address, address);
        if (link->net->metadata_port == 80)
            g_string_append_printf(serial, ";s=http://%s/", address);
        else
            g_string_append_printf(serial, ";s=http://%s:%u/", address, link->net->metadata_port);
    }
    return g_string_free(serial, FALSE);
}

/* The <sysinfo type='TYPE'> of DOMAIN, or a new one. */
static xmlNodePtr sysinfo_of(xmlNodePtr domain, const char *type)
{
    for (xmlNodePtr child = domain->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || strcmp((const char *)child->name, "sysinfo") != 0)
            continue;
        g_autofree xmlChar *existing = xmlGetProp(child, (const xmlChar *)"type");
        if (existing && strcmp((const char *)existing, type) == 0)
            return child;
    }
    xmlNodePtr sysinfo = cn_xml_add(domain, "sysinfo");
    cn_xml_set(sysinfo, "type", type);
    return sysinfo;
}

/* Removes PARENT's <entry> children whose name is NAME, or (PREFIX) starts
 * with it. */
static void remove_entries(xmlNodePtr parent, const char *name, gboolean prefix)
{
    xmlNodePtr child = parent->children;
    while (child) {
        xmlNodePtr next = child->next;
        if (child->type == XML_ELEMENT_NODE && strcmp((const char *)child->name, "entry") == 0) {
            g_autofree xmlChar *entry = xmlGetProp(child, (const xmlChar *)"name");
            if (entry && (prefix ? g_str_has_prefix((const char *)entry, name) : strcmp((const char *)entry, name) == 0)) {
                xmlUnlinkNode(child);
                xmlFreeNode(child);
            }
        }
        child = next;
    }
}

/* Text XML can carry: UTF-8, and no control characters but tab, LF, CR. */
static gboolean xml_text(const char *data, gsize length)
{
    if (!g_utf8_validate(data, (gssize)length, NULL))
        return FALSE;
    for (gsize i = 0; i < length; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return FALSE;
    }
    return TRUE;
}

/* PATH's document for GUEST as an fw_cfg entry of SYSINFO (ALWAYS: even
 * empty); FALSE and ERROR when it cannot be one. */
static gboolean fwcfg_entry(xmlNodePtr sysinfo, const CnMetadataGuest *guest, const char *path, gboolean always,
                            GError **error)
{
    g_autoptr(GBytes) body = NULL;
    const char *type;
    if (cn_metadata_document(guest, path, &body, &type) != CN_METADATA_FOUND)
        return TRUE;
    gsize length;
    const char *data = g_bytes_get_data(body, &length);
    if (length == 0 && !always)
        return TRUE;
    const char *problem = !xml_text(data, length) ? "is not text XML can carry (UTF-8 without control characters)"
                          : length > CN_SEED_ENTRY_MAX ? "is larger than " G_STRINGIFY(CN_SEED_ENTRY_MAX) " bytes"
                                                       : NULL;
    if (problem) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE, "machine %s: its %s %s: it cannot go into the "
                    "domain's seed (serve it with metadata serve instead)", guest->link->machine_name, path + 1,
                    problem);
        return FALSE;
    }
    xmlNodePtr entry = cn_xml_add(sysinfo, "entry");
    cn_xml_setf(entry, "name", FWCFG_PREFIX "%s", path + 1);
    g_autofree char *text = g_strndup(data, length);
    cn_xml_set_text(entry, text);
    return TRUE;
}

gboolean cn_render_domain_seed(xmlDocPtr base, const CnMachine *machine, const CnMetadataFiles *files,
                               GError **error)
{
    xmlNodePtr domain = xmlDocGetRootElement(base);
    if (!domain || strcmp((const char *)domain->name, "domain") != 0) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE, "the base document's root is <%s>, expected <domain>",
                    domain ? (const char *)domain->name : "");
        return FALSE;
    }
    const CnLink *link = seed_link(machine);
    if (!link) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE, "machine %s has no link: nothing to seed",
                    machine->name);
        return FALSE;
    }
    uint32_t address = link->v4_source != CN_V4_NONE ? link->v4_address : 0;
    const CnMetadataGuest guest = {
        .link = link,
        .address = address,
        .public_address = cn_metadata_public_address(link, address, 0),
        .files = files,
    };
    /* The entries first, on a scratch element: nothing changes in BASE
     * when one cannot be written. */
    xmlNodePtr scratch = xmlNewNode(NULL, (const xmlChar *)"sysinfo");
    static const struct {
        const char *path;
        gboolean always;
    } documents[] = { { "/meta-data", TRUE }, { "/network-config", TRUE }, { "/user-data", FALSE },
                      { "/vendor-data", FALSE } };
    for (gsize i = 0; i < G_N_ELEMENTS(documents); i++) {
        if (!fwcfg_entry(scratch, &guest, documents[i].path, documents[i].always, error)) {
            xmlFreeNode(scratch);
            return FALSE;
        }
    }
    xmlNodePtr fwcfg = sysinfo_of(domain, "fwcfg");
    remove_entries(fwcfg, FWCFG_PREFIX, TRUE);
    while (scratch->children) {
        xmlNodePtr entry = scratch->children;
        xmlUnlinkNode(entry);
        xmlAddChild(fwcfg, entry);
    }
    xmlFreeNode(scratch);

    xmlNodePtr system = cn_xml_ensure_child(sysinfo_of(domain, "smbios"), "system");
    remove_entries(system, "serial", FALSE);
    xmlNodePtr serial = cn_xml_add(system, "entry");
    cn_xml_set(serial, "name", "serial");
    g_autofree char *serial_text = smbios_serial(&guest);
    cn_xml_set_text(serial, serial_text);

    xmlNodePtr os = cn_xml_ensure_child(domain, "os");
    cn_xml_remove_children(os, "smbios");
    cn_xml_set(cn_xml_add(os, "smbios"), "mode", "sysinfo");
    return TRUE;
}

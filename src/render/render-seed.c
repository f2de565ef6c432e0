/* render-seed.c - the NoCloud seed in a domain's XML (see render.h):
 * what a guest needs before its network is up, through the firmware.
 *
 *   <sysinfo type='smbios'><system><entry name='serial'>
 *       ds=nocloud;i=INSTANCE-ID;h=HOSTNAME[;s=http://METADATA-ADDRESS/]
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
 * a metadata network; the documents themselves are in fw_cfg
 * (/sys/firmware/qemu_fw_cfg/by_name/opt/org.carthage-net/NAME/raw, with
 * the qemu_fw_cfg module) for guests that read them before any network,
 * user-mode guests among them.  The documents are those the built-in
 * metadata handler serves (metadata-docs.h), for the machine's first link
 * on a metadata network, else its first link. */
#include <string.h>

#include "metadata-docs.h"
#include "netaddr.h"
#include "render.h"

#define FWCFG_PREFIX "opt/org.carthage-net/"

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
    GString *serial = g_string_new("ds=nocloud");
    if (plain_value(id))
        g_string_append_printf(serial, ";i=%s", id);
    g_string_append_printf(serial, ";h=%s", link->machine_name);
    if (link->net && link->net->metadata && !cn_network_in_ovn(link->net)) {
        char address[CN_V4_STR_MAX];
        cn_v4_format(link->net->metadata_address, address);
        if (link->net->metadata_port == 80)
            g_string_append_printf(serial, ";s=http://%s/", address);
        else
            g_string_append_printf(serial, ";s=http://%s:%u/", address, link->net->metadata_port);
    }
    return g_string_free(serial, FALSE);
}

/* The <sysinfo type='TYPE'> of DOMAIN, emptied, or a new one. */
static xmlNodePtr fresh_sysinfo(xmlNodePtr domain, const char *type)
{
    for (xmlNodePtr child = domain->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || strcmp((const char *)child->name, "sysinfo") != 0)
            continue;
        g_autofree xmlChar *existing = xmlGetProp(child, (const xmlChar *)"type");
        if (existing && strcmp((const char *)existing, type) == 0) {
            while (child->children) {
                xmlNodePtr old = child->children;
                xmlUnlinkNode(old);
                xmlFreeNode(old);
            }
            return child;
        }
    }
    xmlNodePtr sysinfo = cn_xml_add(domain, "sysinfo");
    cn_xml_set(sysinfo, "type", type);
    return sysinfo;
}

static void fwcfg_entry(xmlNodePtr sysinfo, const CnMetadataGuest *guest, const char *path, gboolean always)
{
    g_autoptr(GBytes) body = NULL;
    const char *type;
    if (cn_metadata_document(guest, path, &body, &type) != CN_METADATA_FOUND)
        return;
    gsize length;
    const char *data = g_bytes_get_data(body, &length);
    if (length == 0 && !always)
        return;
    xmlNodePtr entry = cn_xml_add(sysinfo, "entry");
    cn_xml_setf(entry, "name", FWCFG_PREFIX "%s", path + 1);
    g_autofree char *text = g_strndup(data, length);
    cn_xml_set_text(entry, text);
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
    /* Binary user-data cannot go into XML text: say so rather than mangle it. */
    for (int i = 0; files && i < 2; i++) {
        GBytes *data = i == 0 ? files->user_data : files->vendor_data;
        gsize length;
        const char *bytes = data ? g_bytes_get_data(data, &length) : NULL;
        if (bytes && (!g_utf8_validate(bytes, (gssize)length, NULL) || memchr(bytes, '\0', length))) {
            g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_STRUCTURE, "machine %s: its %s is not UTF-8 text: it "
                        "cannot go into the domain's XML (serve it with metadata serve instead)", machine->name,
                        i == 0 ? "user-data" : "vendor-data");
            return FALSE;
        }
    }

    xmlNodePtr smbios = fresh_sysinfo(domain, "smbios");
    xmlNodePtr serial = cn_xml_add(cn_xml_add(smbios, "system"), "entry");
    cn_xml_set(serial, "name", "serial");
    g_autofree char *serial_text = smbios_serial(&guest);
    cn_xml_set_text(serial, serial_text);

    xmlNodePtr fwcfg = fresh_sysinfo(domain, "fwcfg");
    fwcfg_entry(fwcfg, &guest, "/meta-data", TRUE);
    fwcfg_entry(fwcfg, &guest, "/network-config", TRUE);
    fwcfg_entry(fwcfg, &guest, "/user-data", FALSE);
    fwcfg_entry(fwcfg, &guest, "/vendor-data", FALSE);

    xmlNodePtr os = cn_xml_ensure_child(domain, "os");
    cn_xml_remove_children(os, "smbios");
    cn_xml_set(cn_xml_add(os, "smbios"), "mode", "sysinfo");
    return TRUE;
}

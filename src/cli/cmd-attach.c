/* cmd-attach.c - carthage-net attach MACHINE [IFACE]: plug rendered
 * interfaces into an existing domain (virt-install and virt-manager VMs
 * joining Carthage networks). */
#include <stdio.h>
#include <string.h>

#include "cli-full.h"
#include "events-notify.h"
#include "ops-ports.h"
#include "netaddr.h"
#include "nft.h"
#include "outbound.h"
#include "paths.h"
#include "render.h"
#include "templates.h"
#include "virt.h"

/* Is there an <interface> with MAC in DOC? */
static gboolean has_interface(xmlDocPtr doc, const char *mac)
{
    xmlNodePtr devices = doc ? cn_xml_child(xmlDocGetRootElement(doc), "devices") : NULL;
    for (xmlNodePtr child = devices ? devices->children : NULL; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || strcmp((const char *)child->name, "interface") != 0)
            continue;
        xmlNodePtr mac_node = cn_xml_child(child, "mac");
        xmlChar *address = mac_node ? xmlGetProp(mac_node, (const xmlChar *)"address") : NULL;
        gboolean same = address && g_ascii_strcasecmp((const char *)address, mac) == 0;
        xmlFree(address);
        if (same)
            return TRUE;
    }
    return FALSE;
}

/* The target device of the live interface with MAC, or NULL. */
static char *live_tap(const CnVirtDomain *domain, const char *mac)
{
    xmlNodePtr devices = domain->live ? cn_xml_child(xmlDocGetRootElement(domain->live), "devices") : NULL;
    for (xmlNodePtr child = devices ? devices->children : NULL; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE || strcmp((const char *)child->name, "interface") != 0)
            continue;
        xmlNodePtr mac_node = cn_xml_child(child, "mac");
        xmlNodePtr target = cn_xml_child(child, "target");
        g_autofree xmlChar *address = mac_node ? xmlGetProp(mac_node, (const xmlChar *)"address") : NULL;
        if (target && address && g_ascii_strcasecmp((const char *)address, mac) == 0) {
            g_autofree xmlChar *dev = xmlGetProp(target, (const xmlChar *)"dev");
            return dev ? g_strdup((const char *)dev) : NULL;
        }
    }
    return NULL;
}

/* The hook's view at qemu start, for a port libvirt ran no hook for: the
 * port is recorded in MACHINE's record of ports, then isolated (so that
 * its elements go when the domain stops, and repair knows it), and the
 * outbound watcher announces its public address. */
static gboolean isolate_hotplugged(CnCli *cli, CnVirt *virt, const CnMachine *machine, const CnLink *link,
                                   const char *mac, GError **error)
{
    if (!link->net || !cn_network_has_isolation(link->net))
        return TRUE;
    g_auto(CnVirtDomain) domain = { 0 };
    if (!cn_virt_domain_get(virt, cn_machine_domain(machine), &domain, error))
        return FALSE;
    g_autofree char *tap = live_tap(&domain, mac);
    if (!tap) {
        g_set_error(error, CN_NFT_ERROR, 0, "domain %s: no tap for %s after the hot-plug", cn_machine_domain(machine), mac);
        return FALSE;
    }
    const char *run_dir = cn_paths_run_dir();
    g_autoptr(CnIsoNetwork) iso = cn_iso_network_from_model(link->net);
    g_autoptr(CnIsoGuest) guest = cn_iso_guest_from_link(link, tap);
    g_autoptr(GPtrArray) taken_over = g_ptr_array_new_with_free_func((GDestroyNotify)cn_port_taken_over_free);
    CnPortResult result =
        cn_ports_attach(run_dir, cn_machine_domain(machine), link->net->name, iso, guest, taken_over, error);
    for (guint i = 0; i < taken_over->len; i++) {
        const CnPortTakenOver *taken = taken_over->pdata[i];
        if (taken->domain)
            cn_cli_warning("network %s port %s: taken over from domain %s, whose record still named it",
                           taken->port->network, taken->port->tap, taken->domain);
        else
            cn_cli_warning("network %s port %s: a MAC no record named was allowed there: removed",
                           taken->port->network, taken->port->tap);
    }
    if (result != CN_PORT_ATTACHED)
        return FALSE;
    if (link->net->forward != CN_FORWARD_NAT)
        return TRUE;
    /* The domain's public address, as the hook announces it at start. */
    CnOutboundPlaces places = { run_dir, cli->state_dir, cn_paths_events_dir(), 2000 };
    g_autoptr(GError) local = NULL;
    if (!cn_outbound_refresh(&places, cn_machine_domain(machine), NULL, NULL, &local))
        cn_cli_warning("domain %s: public address not announced: %s", cn_machine_domain(machine), local->message);
    return TRUE;
}

/* The definitions the flags touch: --live the running one, --config the
 * persistent one, neither the current one (running if it runs). */
static gboolean present_everywhere(const CnVirtDomain *domain, CnVirtAffect affect, const char *mac)
{
    gboolean live = (affect & CN_VIRT_AFFECT_LIVE) || (affect == CN_VIRT_AFFECT_CURRENT && domain->active);
    gboolean config = (affect & CN_VIRT_AFFECT_CONFIG) || (affect == CN_VIRT_AFFECT_CURRENT && !domain->active);
    return (!live || has_interface(domain->live, mac)) && (!config || has_interface(domain->config, mac));
}

/* --seed: the NoCloud seed into the domain's persistent definition (as
 * it is after the interfaces went in), redefined only when it changes. */
static int attach_seed(CnCli *cli, CnVirt *virt, const CnMachine *machine, const char *data_dir)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) definition = cn_virt_domain_definition(virt, cn_machine_domain(machine), &error);
    if (!definition)
        return cn_cli_fail(error);
    g_autofree char *before = cn_xml_format(definition);
    if (!cn_cli_seed_domain(definition, machine, data_dir, &error)) {
        cn_cli_error("%s", error->message);
        return CN_EXIT_INVALID;
    }
    g_autofree char *after = cn_xml_format(definition);
    if (strcmp(before, after) == 0) {
        printf("domain %s: NoCloud seed already in its definition\n", cn_machine_domain(machine));
        return CN_EXIT_OK;
    }
    if (!cn_virt_domain_define(virt, after, &error))
        return cn_cli_fail(error);
    printf("domain %s: NoCloud seed written into its definition (read at its next start)\n", cn_machine_domain(machine));
    return CN_EXIT_OK;
}

int cn_cmd_attach(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "attach", "MACHINE [IFACE] [--live] [--config] [--seed [--data-dir DIR]]",
        "Plug MACHINE's rendered interfaces into its existing libvirt domain.", NULL
    };
    gboolean live = FALSE, config = FALSE, seed = FALSE;
    g_autofree char *data_dir = NULL;
    const GOptionEntry entries[] = {
        { "live", 0, 0, G_OPTION_ARG_NONE, &live, "Hot-plug into the running domain", NULL },
        { "config", 0, 0, G_OPTION_ARG_NONE, &config, "Add to the persistent definition", NULL },
        { "seed", 0, 0, G_OPTION_ARG_NONE, &seed,
          "Also write the NoCloud seed into the persistent definition (SMBIOS serial, fw_cfg; read at the "
          "domain's next start)", NULL },
        { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
          "--seed: per-machine files DIR/MACHINE/{user-data,vendor-data,instance-id} (default "
          "$CARTHAGE_NET_METADATA_DIR, else " CN_PATHS_METADATA_DIR ")", "DIR" },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc < 2 || argc > 3) {
        cn_cli_error("usage: carthage-net attach MACHINE [IFACE] [--live] [--config] [--seed [--data-dir DIR]]");
        return CN_EXIT_USAGE;
    }
    if (data_dir && !seed) {
        cn_cli_error("attach: --data-dir applies only with --seed");
        return CN_EXIT_USAGE;
    }
    CnVirtAffect affect = (live ? CN_VIRT_AFFECT_LIVE : 0) | (config ? CN_VIRT_AFFECT_CONFIG : 0);
    g_autoptr(CnSite) site = cn_cli_load_site(cli, TRUE, &exit_code);
    if (!site)
        return exit_code;
    CnMachine *machine = cn_site_find_machine(site, argv[1]);
    if (!machine) {
        cn_cli_error("unknown machine '%s'", argv[1]);
        return CN_EXIT_INVALID;
    }
    CnLink *only = NULL;
    if (argc == 3 && !(only = cn_site_find_link(site, argv[1], argv[2]))) {
        cn_cli_error("machine '%s' has no interface '%s'", argv[1], argv[2]);
        return CN_EXIT_INVALID;
    }
    g_autoptr(GHashTable) taps = cn_cli_held_taps(cli, machine, only, &exit_code);
    if (!taps)
        return exit_code;
    g_autoptr(xmlDoc) template = cn_cli_load_template("interface.xml", &exit_code);
    if (!template)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;
    g_auto(CnVirtDomain) domain = { 0 };
    if (!cn_virt_domain_get(virt, cn_machine_domain(machine), &domain, &error))
        return cn_cli_fail(error);
    if (!domain.exists) {
        cn_cli_error("no libvirt domain named '%s' (define it first, e.g. with render domain)",
                     cn_machine_domain(machine));
        return CN_EXIT_INVALID;
    }
    if (live && !domain.active) {
        cn_cli_error("domain %s is not running: --live needs a running domain", cn_machine_domain(machine));
        return CN_EXIT_INVALID;
    }
    if (seed && !domain.config) {
        cn_cli_error("domain %s is transient: --seed writes into a persistent definition (virsh define)",
                     cn_machine_domain(machine));
        return CN_EXIT_INVALID;
    }
    if (seed) {
        /* The seed tried first on a copy: nothing attached when it cannot be written. */
        g_autoptr(xmlDoc) trial = xmlCopyDoc(domain.config, 1);
        if (!cn_cli_seed_domain(trial, machine, data_dir ? data_dir : cn_paths_metadata_dir(), &error)) {
            cn_cli_error("%s", error->message);
            return CN_EXIT_INVALID;
        }
    }

    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        char mac[CN_MAC_STR_MAX];
        if (only && link != only)
            continue;
        cn_mac_format(link->mac, mac);
        if (present_everywhere(&domain, affect, mac)) {
            printf("domain %s: %s (%s) already attached\n", cn_machine_domain(machine), link->iface, mac);
            continue;
        }
        g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
        xmlDocSetRootElement(doc, cn_render_interface(doc, link, g_hash_table_lookup(taps, link), template));
        g_autofree char *xml = cn_xml_format(doc);
        if (!cn_virt_domain_attach(virt, cn_machine_domain(machine), xml, affect, &error))
            return cn_cli_fail(error);
        printf("domain %s: attached %s (%s) to network %s\n", cn_machine_domain(machine), link->iface, mac,
               link->net_name);
        gboolean running = live || (affect == CN_VIRT_AFFECT_CURRENT && domain.active);
        if (running && !isolate_hotplugged(cli, virt, machine, link, mac, &error)) {
            /* Without its isolation, a metadata network's guest must not
             * keep the NIC (fail closed); elsewhere, say so and go on. */
            if (link->net->metadata) {
                cn_cli_error("domain %s: %s; the NIC was attached but cannot be isolated: detach it "
                             "(virsh detach-interface %s network --mac %s --live)", cn_machine_domain(machine),
                             error->message, cn_machine_domain(machine), mac);
                return CN_EXIT_SYSTEM;
            }
            cn_cli_warning("domain %s: %s", cn_machine_domain(machine), error->message);
            g_clear_error(&error);
        }
    }
    /* The hook reads a guest's links from its domain XML. */
    g_autoptr(xmlDoc) meta_doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlDocSetRootElement(meta_doc, cn_render_machine_metadata(meta_doc, machine, taps));
    cn_xml_strip_namespace(xmlDocGetRootElement(meta_doc));
    g_autofree char *meta = cn_xml_format(meta_doc);
    if (!cn_virt_domain_set_metadata(virt, cn_machine_domain(machine), meta, affect, &error))
        return cn_cli_fail(error);
    if (seed)
        return attach_seed(cli, virt, machine, data_dir ? data_dir : cn_paths_metadata_dir());
    return CN_EXIT_OK;
}

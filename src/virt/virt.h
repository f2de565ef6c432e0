/* virt.h - the libvirt API edge.  Only the helper links this; the hook
 * never calls libvirt (libvirt waits for the hook: a call back deadlocks).
 * Every failure carries libvirt's own message.
 */
#pragma once

#include <libxml/tree.h>

#include "netxml-diff.h"

#define CN_VIRT_ERROR (cn_virt_error_quark())
GQuark cn_virt_error_quark(void);
typedef enum {
    CN_VIRT_ERROR_CONNECT,
    CN_VIRT_ERROR_FAILED,
} CnVirtError;

typedef struct CnVirt CnVirt;

/* URI NULL: libvirt's default (LIBVIRT_DEFAULT_URI or qemu:///system). */
CnVirt *cn_virt_open(const char *uri, GError **error);
void cn_virt_close(CnVirt *virt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnVirt, cn_virt_close)
const char *cn_virt_uri(const CnVirt *virt);

typedef struct {
    gboolean exists;
    gboolean active;
    gboolean persistent;
    gboolean autostart;
    char uuid[37];
    xmlDocPtr config; /* persistent (inactive) XML, or NULL */
    xmlDocPtr live;   /* running XML when active, or NULL */
} CnVirtNetwork;

void cn_virt_network_clear(CnVirtNetwork *net);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnVirtNetwork, cn_virt_network_clear)

/* Fills OUT; a network that does not exist is OUT->exists = FALSE. */
gboolean cn_virt_network_get(CnVirt *virt, const char *name, CnVirtNetwork *out, GError **error);
gboolean cn_virt_network_define(CnVirt *virt, xmlDocPtr doc, GError **error);
gboolean cn_virt_network_update_live(CnVirt *virt, const char *name, const CnNetUpdate *update,
                                     GError **error);
gboolean cn_virt_network_start(CnVirt *virt, const char *name, GError **error);
gboolean cn_virt_network_set_autostart(CnVirt *virt, const char *name, gboolean on, GError **error);
gboolean cn_virt_network_destroy(CnVirt *virt, const char *name, GError **error);
gboolean cn_virt_network_undefine(CnVirt *virt, const char *name, GError **error);

/* Names of the domains (running or defined) with an interface on NETWORK. */
GPtrArray *cn_virt_domains_on_network(CnVirt *virt, const char *network, GError **error);

/* Does DOC (a network or domain) carry carthage-net's <metadata> element? */
gboolean cn_virt_xml_is_ours(xmlDocPtr doc);

/* libvirt networks that carry carthage-net's <metadata> (names, sorted). */
GPtrArray *cn_virt_our_networks(CnVirt *virt, GError **error);

/* Domains */

typedef enum {
    CN_VIRT_AFFECT_CURRENT = 0,
    CN_VIRT_AFFECT_LIVE = 1 << 0,
    CN_VIRT_AFFECT_CONFIG = 1 << 1,
} CnVirtAffect;

typedef struct {
    gboolean exists;
    gboolean active;
    xmlDocPtr live;   /* when active */
    xmlDocPtr config; /* when persistent */
} CnVirtDomain;

void cn_virt_domain_clear(CnVirtDomain *domain);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnVirtDomain, cn_virt_domain_clear)
gboolean cn_virt_domain_get(CnVirt *virt, const char *name, CnVirtDomain *out, GError **error);
gboolean cn_virt_domain_attach(CnVirt *virt, const char *name, const char *device_xml,
                               CnVirtAffect affect, GError **error);
/* The persistent definition of domain NAME, secrets included (for a
 * redefinition that must keep them). */
xmlDocPtr cn_virt_domain_definition(CnVirt *virt, const char *name, GError **error);
/* Defines (or redefines) a domain from XML: its persistent definition. */
gboolean cn_virt_domain_define(CnVirt *virt, const char *xml, GError **error);
/* Replaces carthage-net's element in the domain's <metadata>. */
gboolean cn_virt_domain_set_metadata(CnVirt *virt, const char *name, const char *element_xml,
                                     CnVirtAffect affect, GError **error);

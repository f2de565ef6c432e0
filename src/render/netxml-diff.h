/* netxml-diff.h - what differs between a network libvirt has and the one
 * carthage-net renders, split into what libvirt can change live
 * (virNetworkUpdate: DHCP reservations, DNS host records) and what needs a
 * network restart (everything else), each with a reason a person can read.
 * Pure: compares two parsed documents.
 */
#pragma once

#include <libxml/tree.h>

#include <glib.h>

typedef enum {
    CN_NET_SECTION_DHCP_HOST,
    CN_NET_SECTION_DNS_HOST,
} CnNetSection;

typedef enum {
    CN_NET_UPDATE_ADD,
    CN_NET_UPDATE_DELETE,
} CnNetUpdateCommand;

typedef struct {
    CnNetSection section;
    CnNetUpdateCommand command;
    char *xml;         /* the <host> element libvirt takes */
    char *description; /* "DHCP host 52:54:00:..:01 10.0.0.5 web" */
} CnNetUpdate;

typedef struct {
    GPtrArray *restart_reasons; /* char*: "forward mode nat -> route" */
    GPtrArray *updates;         /* CnNetUpdate*, deletions first */
    gboolean metadata_changed;  /* carthage-net's <metadata> entry differs */
} CnNetDiff;

CnNetDiff *cn_net_diff(xmlDocPtr current, xmlDocPtr wanted);
void cn_net_diff_free(CnNetDiff *diff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNetDiff, cn_net_diff_free)
gboolean cn_net_diff_is_empty(const CnNetDiff *diff);
const char *cn_net_section_name(CnNetSection section);

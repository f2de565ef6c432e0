/* xml-util.h - small libxml2 helpers for the renderers: find-or-create
 * children, attributes from numbers and addresses, and document I/O. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include <stdint.h>

#include "netaddr.h"
#include "xml-ns.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

#define CN_XML_ERROR (cn_xml_error_quark())
GQuark cn_xml_error_quark(void);
typedef enum {
    CN_XML_ERROR_PARSE,
    CN_XML_ERROR_STRUCTURE,
} CnXmlError;

/* The first child element named NAME (no namespace), or NULL. */
xmlNodePtr cn_xml_child(xmlNodePtr parent, const char *name);
/* That child, created (appended) when missing. */
xmlNodePtr cn_xml_ensure_child(xmlNodePtr parent, const char *name);
/* Removes every child element named NAME (no namespace). */
void cn_xml_remove_children(xmlNodePtr parent, const char *name);
xmlNodePtr cn_xml_add(xmlNodePtr parent, const char *name);
void cn_xml_set(xmlNodePtr node, const char *name, const char *value);
void cn_xml_setf(xmlNodePtr node, const char *name, const char *format, ...) G_GNUC_PRINTF(3, 4);
void cn_xml_set_v4(xmlNodePtr node, const char *name, uint32_t address);
void cn_xml_set_v6(xmlNodePtr node, const char *name, const CnV6Address *address);
void cn_xml_set_mac(xmlNodePtr node, const char *name, const uint8_t mac[6]);
void cn_xml_set_text(xmlNodePtr node, const char *text);

/* Drops the namespace of NODE and its descendants (libvirt's
 * virDomainSetMetadata takes the element without one and adds its own). */
void cn_xml_strip_namespace(xmlNodePtr node);

/* Parses TEXT into a document (no network access, no entities). */
xmlDocPtr cn_xml_parse(const char *what, const char *text, gsize length, GError **error);
/* Serialises DOC, indented, with a trailing newline and no XML declaration
 * (what virsh prints and takes). */
char *cn_xml_format(xmlDocPtr doc);
char *cn_xml_format_node(xmlDocPtr doc, xmlNodePtr node);

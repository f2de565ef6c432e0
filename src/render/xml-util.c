/* xml-util.c - see xml-util.h */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "netaddr.h"
#include "xml-util.h"

G_DEFINE_QUARK(cn-xml-error-quark, cn_xml_error)

static gboolean is_element(xmlNodePtr node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns == NULL &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNodePtr cn_xml_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr child = parent->children; child; child = child->next) {
        if (is_element(child, name))
            return child;
    }
    return NULL;
}

xmlNodePtr cn_xml_ensure_child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr child = cn_xml_child(parent, name);
    return child ? child : cn_xml_add(parent, name);
}

void cn_xml_remove_children(xmlNodePtr parent, const char *name)
{
    xmlNodePtr child = parent->children;
    while (child) {
        xmlNodePtr next = child->next;
        if (is_element(child, name)) {
            xmlUnlinkNode(child);
            xmlFreeNode(child);
        }
        child = next;
    }
}

xmlNodePtr cn_xml_add(xmlNodePtr parent, const char *name)
{
    return xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
}

void cn_xml_set(xmlNodePtr node, const char *name, const char *value)
{
    xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

void cn_xml_setf(xmlNodePtr node, const char *name, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *value = g_strdup_vprintf(format, args);
    va_end(args);
    cn_xml_set(node, name, value);
}

void cn_xml_set_v4(xmlNodePtr node, const char *name, uint32_t address)
{
    char text[CN_V4_STR_MAX];
    cn_v4_format(address, text);
    cn_xml_set(node, name, text);
}

void cn_xml_set_v6(xmlNodePtr node, const char *name, const CnV6Address *address)
{
    char text[CN_V6_STR_MAX];
    cn_v6_format(address, text);
    cn_xml_set(node, name, text);
}

void cn_xml_set_mac(xmlNodePtr node, const char *name, const uint8_t mac[6])
{
    char text[CN_MAC_STR_MAX];
    cn_mac_format(mac, text);
    cn_xml_set(node, name, text);
}

void cn_xml_set_text(xmlNodePtr node, const char *text)
{
    xmlNodeSetContent(node, NULL);
    xmlNodeAddContent(node, (const xmlChar *)text);
}

/* Drops whitespace-only text between elements, so that output is indented
 * the same whatever the input's layout.  Text inside elements that hold
 * only text (<name>, <hostname>) is never blank, so nothing meaningful
 * goes. */
static void strip_blanks(xmlNodePtr node)
{
    xmlNodePtr child = node->children;
    while (child) {
        xmlNodePtr next = child->next;
        if (child->type == XML_TEXT_NODE && xmlIsBlankNode(child)) {
            xmlUnlinkNode(child);
            xmlFreeNode(child);
        } else if (child->type == XML_ELEMENT_NODE) {
            strip_blanks(child);
        }
        child = next;
    }
}

void cn_xml_strip_namespace(xmlNodePtr node)
{
    for (xmlNodePtr n = node; n; n = n == node ? NULL : n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        n->ns = NULL;
        if (n->nsDef) {
            xmlFreeNsList(n->nsDef);
            n->nsDef = NULL;
        }
        for (xmlNodePtr child = n->children; child; child = child->next)
            cn_xml_strip_namespace(child);
    }
}

xmlDocPtr cn_xml_parse(const char *what, const char *text, gsize length, GError **error)
{
    if (length > G_MAXINT) {
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_PARSE, "%s: too large", what);
        return NULL;
    }
    xmlDocPtr doc = xmlReadMemory(text, (int)length, what, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                      XML_PARSE_NOBLANKS);
    if (!doc || !xmlDocGetRootElement(doc)) {
        const xmlError *last = xmlGetLastError();
        g_autofree char *reason = g_strdup(last && last->message ? last->message : "empty document");
        g_set_error(error, CN_XML_ERROR, CN_XML_ERROR_PARSE, "%s:%d: not well-formed XML: %s", what,
                    last ? last->line : 0, g_strchomp(reason));
        xmlFreeDoc(doc);
        return NULL;
    }
    strip_blanks(xmlDocGetRootElement(doc));
    return doc;
}

char *cn_xml_format_node(xmlDocPtr doc, xmlNodePtr node)
{
    xmlBufferPtr buffer = xmlBufferCreate();
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buffer, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    xmlSaveTree(save, node);
    xmlSaveClose(save);
    GString *out = g_string_new_len((const char *)xmlBufferContent(buffer), xmlBufferLength(buffer));
    xmlBufferFree(buffer);
    if (out->len == 0 || out->str[out->len - 1] != '\n')
        g_string_append_c(out, '\n');
    (void)doc;
    return g_string_free(out, FALSE);
}

char *cn_xml_format(xmlDocPtr doc)
{
    return cn_xml_format_node(doc, xmlDocGetRootElement(doc));
}

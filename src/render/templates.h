/* templates.h - finding and loading xml-templates/ documents.
 *
 * Looked up in order: $CARTHAGE_NET_TEMPLATE_DIR, the source tree's
 * xml-templates/ when the program runs from its build tree (see
 * cn_paths_template_dirs), $(sysconfdir)/carthage-net/xml-templates (the
 * site's overrides), $(pkgdatadir)/xml-templates (the installed defaults).
 * A template found nowhere is an error naming every path tried.
 */
#pragma once

#include "xml-util.h"

xmlDocPtr cn_template_load(const char *name, GError **error);

/* templates.h - finding and loading xml-templates/ documents.
 *
 * Looked up in order: $CARTHAGE_NET_TEMPLATE_DIR (for running from a
 * build tree), $(sysconfdir)/carthage-net/xml-templates (the site's
 * overrides), $(pkgdatadir)/xml-templates (the installed defaults).
 */
#pragma once

#include "xml-util.h"

xmlDocPtr cn_template_load(const char *name, GError **error);

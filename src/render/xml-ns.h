/* xml-ns.h - carthage-net's XML namespace for its data in libvirt
 * <metadata>; shared by the renderers (libxml2) and the hook (GMarkup). */
#pragma once

#define CN_XML_NS "http://carthage-net.invalid/xmlns/1"
#define CN_XML_PREFIX "cn"

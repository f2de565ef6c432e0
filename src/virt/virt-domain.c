/* virt-domain.c - domains: reading them, hot-plugging interfaces, and
 * carthage-net's <metadata> entry. */
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "virt-private.h"
#include "xml-util.h"

void cn_virt_domain_clear(CnVirtDomain *domain)
{
    xmlFreeDoc(domain->live);
    xmlFreeDoc(domain->config);
    memset(domain, 0, sizeof *domain);
}

static xmlDocPtr domain_xml(virDomainPtr dom, unsigned flags, const char *name, GError **error)
{
    char *text = virDomainGetXMLDesc(dom, flags);
    if (!text) {
        cn_virt_fail(error, "cannot read domain %s", name);
        return NULL;
    }
    xmlDocPtr doc = cn_xml_parse(name, text, strlen(text), error);
    free(text);
    return doc;
}

gboolean cn_virt_domain_get(CnVirt *virt, const char *name, CnVirtDomain *out, GError **error)
{
    memset(out, 0, sizeof *out);
    virDomainPtr dom = virDomainLookupByName(cn_virt_conn(virt), name);
    if (!dom) {
        virErrorPtr last = virGetLastError();
        if (last && last->code == VIR_ERR_NO_DOMAIN)
            return TRUE;
        return cn_virt_fail(error, "cannot look up domain %s", name);
    }
    gboolean ok = FALSE;
    out->exists = TRUE;
    out->active = virDomainIsActive(dom) == 1;
    if (out->active && !(out->live = domain_xml(dom, 0, name, error)))
        goto out;
    if (virDomainIsPersistent(dom) == 1 &&
        !(out->config = domain_xml(dom, VIR_DOMAIN_XML_INACTIVE, name, error)))
        goto out;
    ok = TRUE;
out:
    virDomainFree(dom);
    if (!ok)
        cn_virt_domain_clear(out);
    return ok;
}

xmlDocPtr cn_virt_domain_definition(CnVirt *virt, const char *name, GError **error)
{
    virDomainPtr dom = virDomainLookupByName(cn_virt_conn(virt), name);
    if (!dom) {
        cn_virt_fail(error, "cannot look up domain %s", name);
        return NULL;
    }
    /* SECURE: with the console passwords, which a redefinition keeps. */
    xmlDocPtr doc = domain_xml(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, name, error);
    virDomainFree(dom);
    return doc;
}

gboolean cn_virt_domain_define(CnVirt *virt, const char *xml, GError **error)
{
    virDomainPtr dom = virDomainDefineXML(cn_virt_conn(virt), xml);
    if (!dom)
        return cn_virt_fail(error, "cannot define the domain");
    virDomainFree(dom);
    return TRUE;
}

static unsigned affect_flags(CnVirtAffect affect)
{
    unsigned flags = VIR_DOMAIN_AFFECT_CURRENT;
    if (affect & CN_VIRT_AFFECT_LIVE)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (affect & CN_VIRT_AFFECT_CONFIG)
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    return flags;
}

gboolean cn_virt_domain_attach(CnVirt *virt, const char *name, const char *device_xml,
                               CnVirtAffect affect, GError **error)
{
    virDomainPtr dom = virDomainLookupByName(cn_virt_conn(virt), name);
    if (!dom)
        return cn_virt_fail(error, "domain %s", name);
    int rc = virDomainAttachDeviceFlags(dom, device_xml, affect_flags(affect));
    /* Before the Free: every libvirt call resets the last error. */
    gboolean ok = rc >= 0 || cn_virt_fail(error, "cannot attach an interface to domain %s", name);
    virDomainFree(dom);
    return ok;
}

gboolean cn_virt_domain_set_metadata(CnVirt *virt, const char *name, const char *element_xml,
                                     CnVirtAffect affect, GError **error)
{
    virDomainPtr dom = virDomainLookupByName(cn_virt_conn(virt), name);
    if (!dom)
        return cn_virt_fail(error, "domain %s", name);
    int rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, element_xml, CN_XML_PREFIX,
                                  CN_XML_NS, affect_flags(affect));
    /* Before the Free: every libvirt call resets the last error. */
    gboolean ok = rc >= 0 || cn_virt_fail(error, "cannot set carthage-net metadata of domain %s", name);
    virDomainFree(dom);
    return ok;
}

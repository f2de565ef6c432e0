/* metadata-docs.h - the documents the built-in metadata handler serves
 * (carthage-net metadata serve), as pure functions of the model.
 *
 * A guest is known by the link it called from: the link whose address
 * (v4.address, pool assignment or secondary address) is the connection's
 * source, which the isolation engine pins to that guest's port, so nothing
 * the guest says is trusted.  For that link's machine:
 *
 *   cloud-init NoCloud-net       /meta-data  /user-data  /vendor-data
 *                                /network-config (version 2, every link)
 *   EC2-style (latest, 2009-04-04)
 *                                /latest/meta-data/{instance-id,
 *                                local-hostname, local-ipv4, public-ipv4,
 *                                mac}  /latest/user-data
 *   signed identity (with an identity key)
 *                                /latest/dynamic/instance-identity/
 *                                {document, signature}
 *
 * user-data, vendor-data and an instance-id of the operator's choosing come
 * from $(sysconfdir)/carthage-net/metadata/MACHINE/ (read by the caller).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model.h"

/* What the operator gave a machine, from its metadata directory. */
typedef struct CnMetadataFiles {
    GBytes *user_data;   /* NULL: none */
    GBytes *vendor_data; /* NULL: none */
    char *instance_id;   /* NULL: the machine's name */
} CnMetadataFiles;

void cn_metadata_files_free(CnMetadataFiles *files);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataFiles, cn_metadata_files_free)

/* Signs DOCUMENT: the signature's bytes, or NULL and ERROR. */
typedef GBytes *(*CnMetadataSignFunc)(GBytes *document, gpointer data, GError **error);

/* Who vouches for the instance identity documents. */
typedef struct {
    const char *hypervisor; /* this host's name, in the document */
    const char *key_id;     /* "sha256:HEX" of the signing key's SubjectPublicKeyInfo */
    CnMetadataSignFunc sign;
    gpointer sign_data;
} CnMetadataIdentity;

/* The guest a request came from. */
typedef struct {
    const CnLink *link;             /* the link it called from */
    uint32_t address;               /* its source address */
    uint32_t public_address;        /* 0: none known */
    const CnMetadataFiles *files;   /* may be NULL */
    const CnMetadataIdentity *identity; /* NULL: no identity key, no identity documents */
} CnMetadataGuest;

typedef enum {
    CN_METADATA_FOUND,
    CN_METADATA_NOT_FOUND,
} CnMetadataResult;

/* The document at PATH for GUEST: *BODY and *CONTENT_TYPE (static), or
 * CN_METADATA_NOT_FOUND. */
CnMetadataResult cn_metadata_document(const CnMetadataGuest *guest, const char *path, GBytes **body,
                                      const char **content_type);

/* GUEST's instance identity document: one line of JSON, the exact bytes
 * the signature covers:
 *   {"version":"carthage-net/1","instanceId":…,"machine":…,"interface":…,
 *    "network":…,"mac":…,"privateIp":…,"publicIp":…|null,
 *    "hypervisor":…,"keyId":"sha256:…"}
 * GUEST->identity must be set. */
GBytes *cn_metadata_identity_document(const CnMetadataGuest *guest);

/* The public address of a guest calling from ADDRESS on LINK: its 1:1
 * NAT address (v4.public_address, or the secondary pair's), else on a
 * masqueraded network OUTBOUND (the host's outbound address; 0: unknown),
 * else 0. */
uint32_t cn_metadata_public_address(const CnLink *link, uint32_t address, uint32_t outbound);

/* Which links a source address belongs to, by the definitions.  Only
 * links on metadata networks are indexed (their guests are the ones the
 * isolation engine pins).  Built once per definitions load; the server
 * decides among them with what the kernel enforces. */
typedef struct CnMetadataIndex CnMetadataIndex;
CnMetadataIndex *cn_metadata_index_new(const CnSite *site);
void cn_metadata_index_free(CnMetadataIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataIndex, cn_metadata_index_free)
/* The links (CnLink*, borrowed) with SOURCE as an address, or NULL. */
GPtrArray *cn_metadata_index_lookup(const CnMetadataIndex *index, uint32_t source);

/* The endpoints the built-in handler listens on by default: every
 * metadata network's own handler (machines with a handler of their own
 * have their own service there), as CnEndpoint, without duplicates, in
 * network order. */
GArray *cn_metadata_default_endpoints(const CnSite *site);

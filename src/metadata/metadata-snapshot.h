/* metadata-snapshot.h - what the built-in metadata handler answers from:
 * the definitions and the machines' metadata directories, read once into
 * an immutable, reference-counted unit, replaced whole on SIGHUP without
 * touching open connections.  Who a guest is comes from the kernel's sets
 * (metadata-server.c asks cn_nft_address_reserved); what it gets, from
 * here and metadata-docs.h. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "metadata-docs.h"
#include "model.h"

#define CN_METADATA_FILE_MAX 1048576 /* bytes: user-data, vendor-data */

/* PATH's bytes: a regular file of at most MAX bytes (OWNER_ONLY: not a
 * symbolic link, owned by this user and readable or writable by it only), never
 * blocking on a FIFO; NULL and ERROR ("PATH: why"; G_FILE_ERROR_NOENT
 * when missing) otherwise. */
GBytes *cn_metadata_read_file(const char *path, gsize max, gboolean owner_only, GError **error);

/* DATA_DIR/MACHINE/{user-data,vendor-data,instance-id}; NULL when there is
 * no such directory.  A file that cannot be used is left out with a line
 * in WARNINGS (char*). */
CnMetadataFiles *cn_metadata_files_read(const char *data_dir, const char *machine, GPtrArray *warnings);

/* The definitions and the machines' files, as one immutable unit. */
typedef struct CnMetadataSnapshot CnMetadataSnapshot;
/* Takes SITE.  Reads DATA_DIR/MACHINE/{user-data,vendor-data,instance-id}
 * for every machine; a file that cannot be used is left out with a line
 * in WARNINGS (char*).  RUN_DIR: where the outbound address is recorded. */
CnMetadataSnapshot *cn_metadata_snapshot_new(CnSite *site, const char *data_dir, const char *run_dir,
                                             GPtrArray *warnings);
CnMetadataSnapshot *cn_metadata_snapshot_ref(CnMetadataSnapshot *snapshot);
void cn_metadata_snapshot_unref(CnMetadataSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataSnapshot, cn_metadata_snapshot_unref)
const CnSite *cn_metadata_snapshot_site(const CnMetadataSnapshot *snapshot);
/* Instance identity documents from now on, naming HYPERVISOR and KEY_ID,
 * signed by SIGN (DATA, released with DESTROY when the snapshot goes). */
void cn_metadata_snapshot_set_identity(CnMetadataSnapshot *snapshot, const char *hypervisor, const char *key_id,
                                       CnMetadataSignFunc sign, gpointer data, GDestroyNotify destroy);
/* The links whose address is ADDRESS (CnLink*), or NULL. */
GPtrArray *cn_metadata_snapshot_candidates(const CnMetadataSnapshot *snapshot, uint32_t address);

/* What the guest calling from ADDRESS on LINK gets at PATH. */
CnMetadataResult cn_metadata_snapshot_answer(const CnMetadataSnapshot *snapshot, const CnLink *link,
                                             uint32_t address, const char *path, GBytes **body,
                                             const char **content_type);

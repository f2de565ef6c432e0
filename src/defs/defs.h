/* defs.h - from Carthage network definitions to the model.
 *
 * load:     files and directories -> CnRawDefs (layered key-file entries)
 * build:    CnRawDefs -> CnSite, checking each value's type and range
 * validate: defaults, then every cross-object rule of the definitions spec
 *
 * Every problem goes to a CnDiagList; callers act on a site only when the
 * list is empty.  cn_defs_load_site() runs all three and the MAC
 * allocation, which is what every command wants.
 */
#pragma once

#include "defs-keyfile.h"

typedef enum {
    CN_SOURCE_FILE,
    CN_SOURCE_DIR,
} CnSourceKind;

typedef struct {
    CnSourceKind kind;
    const char *path;
} CnSource;

/* Reads each source in order into DEFS.  A directory contributes its
 * "*.conf" files in byte order of their names.  Unreadable paths are
 * diagnostics, not aborts, so that validate can report everything. */
void cn_defs_load(CnRawDefs *defs, const CnSource *sources, gsize n_sources, CnDiagList *diags);

CnSite *cn_defs_build(const CnRawDefs *defs, CnDiagList *diags);

/* Fills defaults (bridge names, gateways, forward modes, pool prefixes,
 * metadata endpoints) and checks every rule; links objects together. */
void cn_defs_validate(CnSite *site, CnDiagList *diags);

/* load + build + MAC allocation + validate.  Returns NULL when DIAGS is
 * non-empty afterwards. */
CnSite *cn_defs_load_site(const CnSource *sources, gsize n_sources, CnDiagList *diags);

/* "network lan", "link web eth0": the group header of an object, for
 * messages. */
char *cn_network_group(const CnNetwork *net);
char *cn_machine_group(const CnMachine *machine);
char *cn_link_group(const CnLink *link);
char *cn_pool_group(const CnPool *pool);

/* fuzz-metadata-path.c - libFuzzer target: the path of a request to the
 * built-in metadata handler (any bytes a guest can put there) through the
 * document router, for a guest with files and an identity key (a stand-in
 * signer) and one with neither.  Besides
 * crashes it checks that every answer has a content type and that only
 * the documents meant to be empty are. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "metadata-docs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DEFS[] = "[network md]\nv4.network = 10.63.0.0/24\nmetadata = true\nmetadata.handler = 8000\n"
                           "forward = route\n"
                           "[link m1 eth0]\nnet = md\nv4.address = 10.63.0.11\nv4.public_address = 203.0.113.1\n"
                           "v4.secondary_addresses = 10.63.0.12=203.0.113.2;10.63.0.13\n";

static CnSite *site(void)
{
    static CnSite *built;
    if (!built) {
        g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
        g_autoptr(CnDiagList) diags = cn_diag_list_new();
        cn_raw_defs_parse(raw, "fuzz.conf", DEFS, strlen(DEFS), diags);
        built = cn_defs_build(raw, diags);
        cn_alloc_macs(built);
        cn_defs_validate(built, diags);
        if (diags->items->len)
            abort();
    }
    return built;
}

static void route(const CnMetadataGuest *guest, const char *path)
{
    GBytes *body = NULL;
    const char *type = NULL;
    if (cn_metadata_document(guest, path, &body, &type) != CN_METADATA_FOUND) {
        if (body)
            abort(); /* a 404 with a body leaks it */
        return;
    }
    if (!body || !type)
        abort();
    gsize length = g_bytes_get_size(body);
    if (length == 0 && strcmp(path, "/user-data") != 0 && strcmp(path, "/vendor-data") != 0) {
        fprintf(stderr, "empty document at %s\n", path);
        abort();
    }
    g_bytes_unref(body);
}

static GBytes *stand_in_sign(GBytes *document, gpointer data, GError **error)
{
    return g_bytes_new_static("signature", 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const CnMetadataIdentity identity = { "hv1", "sha256:00", stand_in_sign, NULL };
    g_autofree char *path = g_strndup((const char *)data, size);
    const CnLink *link = site()->links->pdata[0];
    CnMetadataFiles files = { g_bytes_new_static("#cloud-config\n", 14), NULL, (char *)"i-1" };
    CnMetadataGuest with_files = { link, link->v4_address, link->v4_public_address, &files, &identity };
    CnMetadataGuest without = { link, link->v4_address + 2, 0, NULL, NULL };
    route(&with_files, path);
    route(&without, path);
    g_bytes_unref(files.user_data);
    return 0;
}

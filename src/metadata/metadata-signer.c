/* metadata-signer.c - see metadata-signer.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "metadata-signer.h"
#include "metadata-snapshot.h"

#define KEY_FILE_MAX 16384

struct CnMetadataSigner {
    gint refs;
    gnutls_privkey_t private_key;
    gnutls_pubkey_t public_key;
    char *key_id;
    char *public_pem;
};

static gboolean tls_failed(int rc, const char *what, const char *path, GError **error)
{
    if (rc >= 0)
        return FALSE;
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s: %s", path, what, gnutls_strerror(rc));
    return TRUE;
}

CnMetadataSigner *cn_metadata_signer_load(const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GBytes) bytes = cn_metadata_read_file(path, KEY_FILE_MAX, TRUE, &local);
    if (!bytes || g_bytes_get_size(bytes) == 0) {
        if (!local)
            g_set_error(&local, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: empty", path);
        g_set_error(error, local->domain, local->code, "the identity key %s", local->message);
        return NULL;
    }
    gnutls_datum_t file = { (unsigned char *)g_bytes_get_data(bytes, NULL), (unsigned)g_bytes_get_size(bytes) };
    g_autoptr(CnMetadataSigner) signer = g_new0(CnMetadataSigner, 1);
    signer->refs = 1;
    int rc = gnutls_privkey_init(&signer->private_key);
    if (rc >= 0)
        rc = gnutls_privkey_import_x509_raw(signer->private_key, &file, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_memset(file.data, 0, file.size);
    if (tls_failed(rc, "not a PEM private key", path, error))
        return NULL;
    if (gnutls_privkey_get_pk_algorithm(signer->private_key, NULL) != GNUTLS_PK_EDDSA_ED25519) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not an Ed25519 key (carthage-net metadata keygen "
                    "makes one)", path);
        return NULL;
    }
    rc = gnutls_pubkey_init(&signer->public_key);
    if (rc >= 0)
        rc = gnutls_pubkey_import_privkey(signer->public_key, signer->private_key, 0, 0);
    if (tls_failed(rc, "cannot derive the public key", path, error))
        return NULL;
    guchar id[32];
    size_t id_size = sizeof id;
    gnutls_datum_t pem = { NULL, 0 };
    rc = gnutls_pubkey_get_key_id(signer->public_key, GNUTLS_KEYID_USE_SHA256, id, &id_size);
    if (rc >= 0)
        rc = gnutls_pubkey_export2(signer->public_key, GNUTLS_X509_FMT_PEM, &pem);
    if (tls_failed(rc, "cannot export the public key", path, error))
        return NULL;
    signer->public_pem = g_strndup((const char *)pem.data, pem.size);
    gnutls_free(pem.data);
    GString *key_id = g_string_new("sha256:");
    for (size_t i = 0; i < id_size; i++)
        g_string_append_printf(key_id, "%02x", id[i]);
    signer->key_id = g_string_free(key_id, FALSE);
    return g_steal_pointer(&signer);
}

CnMetadataSigner *cn_metadata_signer_ref(CnMetadataSigner *signer)
{
    g_atomic_int_inc(&signer->refs);
    return signer;
}

void cn_metadata_signer_unref(CnMetadataSigner *signer)
{
    if (!signer || !g_atomic_int_dec_and_test(&signer->refs))
        return;
    if (signer->private_key)
        gnutls_privkey_deinit(signer->private_key);
    if (signer->public_key)
        gnutls_pubkey_deinit(signer->public_key);
    g_free(signer->key_id);
    g_free(signer->public_pem);
    g_free(signer);
}

const char *cn_metadata_signer_key_id(const CnMetadataSigner *signer)
{
    return signer->key_id;
}

const char *cn_metadata_signer_public_pem(const CnMetadataSigner *signer)
{
    return signer->public_pem;
}

GBytes *cn_metadata_signer_sign(GBytes *document, gpointer data, GError **error)
{
    CnMetadataSigner *signer = data;
    gsize length;
    const guchar *bytes = g_bytes_get_data(document, &length);
    const gnutls_datum_t input = { (unsigned char *)bytes, (unsigned)length };
    gnutls_datum_t signature = { NULL, 0 };
    int rc = gnutls_privkey_sign_data2(signer->private_key, GNUTLS_SIGN_EDDSA_ED25519, 0, &input, &signature);
    if (rc < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot sign: %s", gnutls_strerror(rc));
        return NULL;
    }
    GBytes *out = g_bytes_new(signature.data, signature.size);
    gnutls_free(signature.data);
    return out;
}

gboolean cn_metadata_signer_verify(const CnMetadataSigner *signer, GBytes *document, GBytes *signature)
{
    gsize document_length, signature_length;
    const guchar *document_bytes = g_bytes_get_data(document, &document_length);
    const guchar *signature_bytes = g_bytes_get_data(signature, &signature_length);
    const gnutls_datum_t input = { (unsigned char *)document_bytes, (unsigned)document_length };
    const gnutls_datum_t sig = { (unsigned char *)signature_bytes, (unsigned)signature_length };
    return gnutls_pubkey_verify_data2(signer->public_key, GNUTLS_SIGN_EDDSA_ED25519, 0, &input, &sig) >= 0;
}

/* A new Ed25519 key as PKCS#8 PEM. */
static gboolean new_key_pem(const char *path, gnutls_datum_t *pem, GError **error)
{
    gnutls_x509_privkey_t key;
    int rc = gnutls_x509_privkey_init(&key);
    if (rc >= 0) {
        rc = gnutls_x509_privkey_generate2(key, GNUTLS_PK_EDDSA_ED25519,
                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0, NULL, 0);
        if (rc >= 0)
            rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, pem);
        gnutls_x509_privkey_deinit(key);
    }
    return !tls_failed(rc, "cannot make an Ed25519 key", path, error);
}

gboolean cn_metadata_signer_generate(const char *path, gboolean rotate, gboolean *created, GError **error)
{
    *created = FALSE;
    if (!rotate && g_file_test(path, G_FILE_TEST_EXISTS))
        return TRUE;
    gnutls_datum_t pem = { NULL, 0 };
    if (!new_key_pem(path, &pem, error))
        return FALSE;
    g_autofree char *temporary = g_strdup_printf("%s.new.%d", path, (int)getpid());
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    gboolean written = fd >= 0 && write(fd, pem.data, pem.size) == (ssize_t)pem.size && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    gnutls_memset(pem.data, 0, pem.size);
    gnutls_free(pem.data);
    if (!written) {
        unlink(temporary);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot write %s: %s", temporary,
                    g_strerror(saved));
        return FALSE;
    }
    if (!rotate) {
        /* Linked into place, never over a key: of two runs at once, one
         * makes it and the other keeps it. */
        int linked = link(temporary, path);
        saved = errno;
        unlink(temporary);
        if (linked < 0 && saved == EEXIST)
            return TRUE;
        if (linked < 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot make %s: %s", path,
                        g_strerror(saved));
            return FALSE;
        }
        *created = TRUE;
        return TRUE;
    }
    /* The old key stays at PATH until the new one replaces it. */
    g_autofree char *previous = g_strconcat(path, ".previous", NULL);
    if (unlink(previous) < 0 && errno != ENOENT)
        saved = errno;
    else if (link(path, previous) < 0 && errno != ENOENT)
        saved = errno;
    else
        saved = 0;
    if (saved) {
        unlink(temporary);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot move %s to %s: %s", path, previous,
                    g_strerror(saved));
        return FALSE;
    }
    if (rename(temporary, path) < 0) {
        saved = errno;
        unlink(temporary);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot make %s: %s", path,
                    g_strerror(saved));
        return FALSE;
    }
    *created = TRUE;
    return TRUE;
}

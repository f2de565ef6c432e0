/* metadata-signer.h - the key that signs instance identity documents
 * (metadata-docs.h): Ed25519, a PKCS#8 PEM file readable by root only
 * (default SYSCONFDIR/carthage-net/metadata-identity.key), with GnuTLS.
 *
 * A verifier holds the public key (carthage-net metadata keygen prints
 * it) and checks the detached signature over the document's exact bytes;
 * the document's keyId ("sha256:" and the SHA-256 of the public key's
 * SubjectPublicKeyInfo, in hex) says which key signed it, so that during
 * a rotation a verifier can hold the old and the new key at once.
 */
#pragma once

#include <glib.h>

typedef struct CnMetadataSigner CnMetadataSigner;

/* The key at PATH; NULL and ERROR when it cannot be used (G_FILE_ERROR_NOENT
 * when there is none). */
CnMetadataSigner *cn_metadata_signer_load(const char *path, GError **error);
CnMetadataSigner *cn_metadata_signer_ref(CnMetadataSigner *signer);
void cn_metadata_signer_unref(CnMetadataSigner *signer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataSigner, cn_metadata_signer_unref)

const char *cn_metadata_signer_key_id(const CnMetadataSigner *signer);
/* The public key as PEM (SubjectPublicKeyInfo). */
const char *cn_metadata_signer_public_pem(const CnMetadataSigner *signer);
/* A CnMetadataSignFunc: the 64-byte Ed25519 signature of DOCUMENT. */
GBytes *cn_metadata_signer_sign(GBytes *document, gpointer signer, GError **error);
/* Checks SIGNATURE of DOCUMENT with SIGNER's public key. */
gboolean cn_metadata_signer_verify(const CnMetadataSigner *signer, GBytes *document, GBytes *signature);

/* A new key at PATH (mode 0600, written whole then renamed into place).
 * An existing key is kept (idempotent) unless ROTATE: then it moves to
 * PATH.previous (a hard link), and the new key replaces it in one rename.  *CREATED says whether a key was made. */
gboolean cn_metadata_signer_generate(const char *path, gboolean rotate, gboolean *created, GError **error);

/* metadata-token.c - see metadata-token.h */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>


#include "metadata-token.h"
#include "netaddr.h"

#define TOKEN_PREFIX "v1."
#define TOKEN_MAX 128

gboolean cn_metadata_token_ttl_parse(const char *text, guint *ttl)
{
    if (!text || !g_ascii_isdigit(text[0]) || text[0] == '0' || strlen(text) > 5)
        return FALSE;
    guint value = 0;
    for (const char *c = text; *c; c++) {
        if (!g_ascii_isdigit(*c))
            return FALSE;
        value = value * 10 + (guint)(*c - '0');
    }
    if (value > CN_METADATA_TOKEN_TTL_MAX)
        return FALSE;
    *ttl = value;
    return TRUE;
}

/* base64url without padding of HMAC-SHA256(KEY, binding of LINK and
 * EXPIRY). */
static char *token_signature(const CnMetadataTokenKey *key, const CnLink *link, gint64 expiry)
{
    char mac[CN_MAC_STR_MAX];
    cn_mac_format(link->mac, mac);
    g_autofree char *binding = g_strdup_printf("carthage-net metadata token v1\n%" G_GINT64_FORMAT "\n%s\n%s\n%s\n%s\n",
                                               expiry, link->machine_name, link->iface,
                                               link->net ? link->net->name : "", mac);
    g_autoptr(GHmac) hmac = g_hmac_new(G_CHECKSUM_SHA256, key->bytes, sizeof key->bytes);
    g_hmac_update(hmac, (const guchar *)binding, -1);
    guint8 digest[32];
    gsize length = sizeof digest;
    g_hmac_get_digest(hmac, digest, &length);
    char *text = g_base64_encode(digest, length);
    for (char *c = text; *c; c++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
        else if (*c == '=')
            *c = '\0';
    }
    return text;
}

char *cn_metadata_token_issue(const CnMetadataTokenKey *key, const CnLink *link, gint64 now, guint ttl)
{
    gint64 expiry = now + ttl;
    g_autofree char *signature = token_signature(key, link, expiry);
    return g_strdup_printf(TOKEN_PREFIX "%" G_GINT64_FORMAT ".%s", expiry, signature);
}

/* Compares in time that does not depend on where A and B differ. */
static gboolean equal_in_constant_time(const char *a, const char *b)
{
    gsize length = strlen(a);
    if (length != strlen(b))
        return FALSE;
    guint8 difference = 0;
    for (gsize i = 0; i < length; i++)
        difference |= (guint8)(a[i] ^ b[i]);
    return difference == 0;
}

CnTokenVerdict cn_metadata_token_check(const CnMetadataTokenKey *key, const CnLink *link, const char *token,
                                       gint64 now)
{
    if (!token || strlen(token) > TOKEN_MAX || !g_str_has_prefix(token, TOKEN_PREFIX))
        return CN_TOKEN_INVALID;
    const char *digits = token + strlen(TOKEN_PREFIX);
    const char *dot = strchr(digits, '.');
    if (!dot || dot == digits || dot - digits > 12 || digits[0] == '0')
        return CN_TOKEN_INVALID;
    gint64 expiry = 0;
    for (const char *c = digits; c < dot; c++) {
        if (!g_ascii_isdigit(*c))
            return CN_TOKEN_INVALID;
        expiry = expiry * 10 + (*c - '0');
    }
    g_autofree char *expected = token_signature(key, link, expiry);
    if (!equal_in_constant_time(dot + 1, expected))
        return CN_TOKEN_INVALID;
    return now < expiry ? CN_TOKEN_VALID : CN_TOKEN_EXPIRED;
}

static gboolean read_key(int fd, const char *path, CnMetadataTokenKey *key, GError **error)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != CN_METADATA_TOKEN_KEY_BYTES ||
        st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO))) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a regular file of %d bytes that only its "
                    "owner (this user) may read (remove it: a new key is made, and the tokens given so far end)",
                    path, CN_METADATA_TOKEN_KEY_BYTES);
        return FALSE;
    }
    gsize got = 0;
    while (got < sizeof key->bytes) {
        ssize_t n = read(fd, key->bytes + got, sizeof key->bytes - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(n < 0 ? errno : EIO), "cannot read %s: %s", path,
                        n < 0 ? g_strerror(errno) : "short file");
            return FALSE;
        }
        got += (gsize)n;
    }
    return TRUE;
}

gboolean cn_metadata_token_key_load(const char *run_dir, CnMetadataTokenKey *key, GError **error)
{
    g_autofree char *path = g_build_filename(run_dir, CN_METADATA_TOKEN_KEY_FILE, NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        gboolean ok = read_key(fd, path, key, error);
        close(fd);
        return ok;
    }
    if (errno != ENOENT) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot open %s: %s", path, g_strerror(errno));
        return FALSE;
    }
    /* Made whole under a temporary name, then linked into place: two
     * servers starting at once end up with the same key. */
    if (getrandom(key->bytes, sizeof key->bytes, 0) != (ssize_t)sizeof key->bytes) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot make a token key: getrandom: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (g_mkdir_with_parents(run_dir, 0755) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot make %s: %s", run_dir,
                    g_strerror(errno));
        return FALSE;
    }
    g_autofree char *temporary = g_strdup_printf("%s.%d", path, (int)getpid());
    fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    gboolean written = fd >= 0 && write(fd, key->bytes, sizeof key->bytes) == (ssize_t)sizeof key->bytes;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (!written) {
        unlink(temporary);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot write %s: %s", temporary,
                    g_strerror(saved));
        return FALSE;
    }
    int linked = link(temporary, path);
    saved = errno;
    unlink(temporary);
    if (linked < 0 && saved == EEXIST)
        return cn_metadata_token_key_load(run_dir, key, error); /* another server made it first */
    if (linked < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot make %s: %s", path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* pool.c - see pool.h */
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <string.h>

#include "link.h"
#include "pool.h"
#include "tap.h"

G_DEFINE_QUARK(cn-pool-error-quark, cn_pool_error)

/* libvirt's QEMU user on Debian; used when the pool names no owner. */
#define DEFAULT_QEMU_USER "libvirt-qemu"

char *cn_pool_tap_name(const CnPool *pool, guint index)
{
    return g_strdup_printf("%s%u", pool->prefix, index);
}

uint32_t cn_pool_ifgroup(const CnPool *pool)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const char *c = pool->name; *c; c++)
        hash = (hash ^ (uint8_t)*c) * 16777619u;
    return CN_POOL_IFGROUP_BASE | ((hash >> 16) ^ (hash & 0xffff));
}

static CnPoolState *load_by_name(CnState *state, const char *pool_name, GError **error)
{
    g_autofree char *name = cn_pool_state_file_name(pool_name);
    CnPoolState *pool_state = NULL;
    if (!cn_state_load(state, name, (CnStateParser)cn_pool_state_parse, (gpointer *)&pool_state, error))
        return NULL;
    return pool_state ? pool_state : cn_pool_state_new();
}

CnPoolState *cn_pool_load(CnState *state, const CnPool *pool, GError **error)
{
    return load_by_name(state, pool->name, error);
}

gboolean cn_pool_save(CnState *state, const CnPool *pool, const CnPoolState *pool_state, GError **error)
{
    g_autofree char *name = cn_pool_state_file_name(pool->name);
    g_autofree char *text = cn_pool_state_format(pool_state);
    return cn_state_write(state, name, text, strlen(text), error);
}

static CnPoolTap *find_tap(const CnPoolState *pool_state, const char *tap)
{
    for (guint i = 0; i < pool_state->taps->len; i++) {
        CnPoolTap *entry = pool_state->taps->pdata[i];
        if (strcmp(entry->tap, tap) == 0)
            return entry;
    }
    return NULL;
}

/* ENTRY's holder becomes OLD's (machine, MAC, since). */
static void copy_holder(CnPoolTap *entry, const CnPoolTap *old)
{
    g_free(entry->machine);
    entry->machine = g_strdup(old->machine);
    entry->has_mac = old->has_mac;
    memcpy(entry->mac, old->mac, 6);
    entry->since = old->since;
}

static void clear_holder(CnPoolTap *entry)
{
    g_clear_pointer(&entry->machine, g_free);
    entry->has_mac = FALSE;
    entry->since = 0;
}

static gboolean tap_config(const CnPool *pool, CnTapConfig *config, GError **error)
{
    memset(config, 0, sizeof *config);
    config->owner = (uid_t)-1;
    config->group = (gid_t)-1;
    const char *owner = pool->owner ? pool->owner : DEFAULT_QEMU_USER;
    struct passwd *user = getpwnam(owner);
    if (user)
        config->owner = user->pw_uid;
    else if (pool->owner) {
        g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_FAILED, "[pool %s] owner: no user '%s'",
                    pool->name, pool->owner);
        return FALSE;
    }
    if (pool->group) {
        struct group *group = getgrnam(pool->group);
        if (!group) {
            g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_FAILED, "[pool %s] group: no group '%s'",
                        pool->name, pool->group);
            return FALSE;
        }
        config->group = group->gr_gid;
    }
    config->mtu = pool->net ? pool->net->mtu : 0;
    config->ifgroup = cn_pool_ifgroup(pool);
    config->isolated = pool->net && pool->net->isolate_guests;
    /* A bridge that is not there yet: the TAPs join it when the network
     * starts (hook) or on repair. */
    if (pool->net && pool->net->bridge_name)
        config->master = if_nametoindex(pool->net->bridge_name) ? pool->net->bridge_name : NULL;
    return TRUE;
}

/* What differs between an existing TAP and CONFIG, or NULL. */
static char *differences(const CnTapInfo *info, const CnTapConfig *config)
{
    GString *out = g_string_new(NULL);
    if (!info->is_tap)
        g_string_append(out, ", not a TAP device");
    if (config->mtu && info->mtu != config->mtu)
        g_string_append_printf(out, ", MTU %u (want %u)", info->mtu, config->mtu);
    if (config->master && strcmp(info->master, config->master) != 0)
        g_string_append_printf(out, ", bridge %s (want %s)", *info->master ? info->master : "none",
                               config->master);
    if (!info->up)
        g_string_append(out, ", down");
    if (config->owner != (uid_t)-1 && info->owner != (long)config->owner)
        g_string_append_printf(out, ", owner %ld (want %u)", info->owner, (unsigned)config->owner);
    if (config->group != (gid_t)-1 && info->group != (long)config->group)
        g_string_append_printf(out, ", group %ld (want %u)", info->group, (unsigned)config->group);
    if (config->master && config->isolated && !info->isolated)
        g_string_append(out, ", bridge port not isolated");
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    g_string_erase(out, 0, 2);
    return g_string_free(out, FALSE);
}

gboolean cn_pool_create(CnState *state, const CnPool *pool, GPtrArray *report, GError **error)
{
    CnTapConfig config;
    if (!tap_config(pool, &config, error))
        return FALSE;
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    g_autoptr(CnTapContext) context = cn_tap_context_new(error);
    if (!context)
        return FALSE;
    if (!config.master && pool->net)
        g_ptr_array_add(report, g_strdup_printf("bridge %s of network %s does not exist yet: TAPs made "
                                                "without it join it when the network starts (hook) or "
                                                "on repair", pool->net->bridge_name, pool->net->name));

    /* Record the TAPs before making them: a crash in between leaves a
     * record of a TAP that may not exist, which the next create makes. */
    g_autoptr(CnPoolState) next = cn_pool_state_new();
    for (guint i = 0; i < pool->size; i++) {
        g_autofree char *name = cn_pool_tap_name(pool, i);
        const CnPoolTap *old = find_tap(pool_state, name);
        CnPoolTap *entry = cn_pool_state_add(next, name);
        if (old)
            copy_holder(entry, old);
    }
    /* TAPs beyond a reduced size: held ones stay until released. */
    g_autoptr(GPtrArray) beyond = g_ptr_array_new();
    for (guint i = 0; i < pool_state->taps->len; i++) {
        const CnPoolTap *old = pool_state->taps->pdata[i];
        if (find_tap(next, old->tap))
            continue;
        if (old->machine) {
            copy_holder(cn_pool_state_add(next, old->tap), old);
            g_ptr_array_add(report, g_strdup_printf("%s: beyond size %u but held by %s; kept until "
                                                    "released", old->tap, pool->size, old->machine));
        } else {
            g_ptr_array_add(beyond, old->tap);
        }
    }
    if (beyond->len) {
        g_autoptr(CnTapScan) before = cn_tap_scan(context, error);
        if (!before)
            return FALSE;
        /* One a process has open (QEMU: it has a carrier) though the
         * record says it is free stays too, as dispose leaves it. */
        g_autoptr(GPtrArray) doomed = g_ptr_array_new();
        for (guint i = 0; i < beyond->len; i++) {
            CnTapInfo info;
            cn_tap_scan_lookup(before, beyond->pdata[i], &info);
            if (info.is_tap && info.carrier) {
                cn_pool_state_add(next, beyond->pdata[i]);
                g_ptr_array_add(report, g_strdup_printf("%s: beyond size %u but open in a running guest though "
                                                        "not recorded as held; kept", (char *)beyond->pdata[i],
                                                        pool->size));
            } else {
                g_ptr_array_add(doomed, beyond->pdata[i]);
            }
        }
        if (doomed->len && !cn_tap_delete_many(context, before, doomed, config.ifgroup, error))
            return FALSE;
        for (guint i = 0; i < doomed->len; i++)
            g_ptr_array_add(report, g_strdup_printf("%s: deleted (beyond size %u)", (char *)doomed->pdata[i],
                                                    pool->size));
    }
    if (!cn_pool_save(state, pool, next, error))
        return FALSE;

    g_autoptr(CnTapScan) scan = cn_tap_scan(context, error);
    if (!scan)
        return FALSE;
    g_autoptr(GPtrArray) wanted = g_ptr_array_new_with_free_func(g_free);
    guint made = 0, adopted = 0;
    for (guint i = 0; i < pool->size; i++) {
        g_autofree char *name = cn_pool_tap_name(pool, i);
        CnTapInfo info;
        cn_tap_scan_lookup(scan, name, &info);
        if (info.exists) {
            g_autofree char *why = differences(&info, &config);
            adopted++;
            if (!why)
                continue;
            if (!info.is_tap) {
                g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_FAILED,
                            "%s exists and is not a TAP device: not taking it over", name);
                return FALSE;
            }
            g_ptr_array_add(report, g_strdup_printf("%s: differed (%s); fixed", name, why));
        } else {
            made++;
        }
        g_ptr_array_add(wanted, g_steal_pointer(&name));
    }
    if (!cn_tap_ensure_many(context, wanted, &config, error))
        return FALSE;
    g_ptr_array_add(report, g_strdup_printf("%u TAP(s) made, %u already there, on %s", made, adopted,
                                            config.master ? config.master : "no bridge yet"));
    return TRUE;
}

gboolean cn_pool_reattach_taps(CnState *state, const char *pool_name, const char *bridge,
                               gboolean isolated, uint32_t mtu, GPtrArray *report, GError **error)
{
    CnTapConfig config = { .mtu = mtu, .master = bridge, .isolated = isolated,
                           .owner = (uid_t)-1, .group = (gid_t)-1 };
    g_autoptr(CnPoolState) pool_state = load_by_name(state, pool_name, error);
    if (!pool_state)
        return FALSE;
    if (pool_state->taps->len == 0)
        return TRUE;
    g_autoptr(CnTapContext) context = cn_tap_context_new(error);
    if (!context)
        return FALSE;
    g_autoptr(CnTapScan) scan = cn_tap_scan(context, error);
    if (!scan)
        return FALSE;
    g_autoptr(GPtrArray) unfit = g_ptr_array_new();
    for (guint i = 0; i < pool_state->taps->len; i++) {
        const CnPoolTap *entry = pool_state->taps->pdata[i];
        CnTapInfo info;
        cn_tap_scan_lookup(scan, entry->tap, &info);
        if (!info.exists || !info.is_tap)
            continue;
        g_autofree char *why = differences(&info, &config);
        if (!why)
            continue;
        g_ptr_array_add(unfit, entry->tap);
        g_ptr_array_add(report, g_strdup_printf("%s: %s; fixed", entry->tap, why));
    }
    return cn_tap_configure_many(context, unfit, &config, error);
}

gboolean cn_pool_check(CnState *state, const CnPool *pool, GPtrArray *drift, GError **error)
{
    CnTapConfig config;
    if (!tap_config(pool, &config, error))
        return FALSE;
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    if (pool_state->taps->len == 0) {
        g_ptr_array_add(drift, g_strdup("not created (carthage-net pool create)"));
        return TRUE;
    }
    g_autoptr(CnTapContext) context = cn_tap_context_new(error);
    if (!context)
        return FALSE;
    g_autoptr(CnTapScan) scan = cn_tap_scan(context, error);
    if (!scan)
        return FALSE;
    for (guint i = 0; i < pool_state->taps->len; i++) {
        const CnPoolTap *entry = pool_state->taps->pdata[i];
        CnTapInfo info;
        cn_tap_scan_lookup(scan, entry->tap, &info);
        g_autofree char *why = info.exists ? differences(&info, &config) : g_strdup("missing");
        if (why)
            g_ptr_array_add(drift, g_strdup_printf("%s: %s", entry->tap, why));
    }
    return TRUE;
}

gboolean cn_pool_acquire(CnState *state, const CnPool *pool, const char *machine, const uint8_t *mac,
                         char **tap, GError **error)
{
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    if (pool_state->taps->len == 0) {
        g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_BUSY,
                    "pool %s has no TAP devices (carthage-net pool create %s)", pool->name, pool->name);
        return FALSE;
    }
    /* Asked again for the same machine and MAC (the first answer was lost,
     * say to a kill after the state was saved): the same TAP, not a second
     * one the caller would never learn of. */
    for (guint i = 0; mac && i < pool_state->taps->len; i++) {
        const CnPoolTap *entry = pool_state->taps->pdata[i];
        if (entry->machine && strcmp(entry->machine, machine) == 0 && entry->has_mac &&
            memcmp(entry->mac, mac, 6) == 0) {
            *tap = g_strdup(entry->tap);
            return TRUE;
        }
    }
    /* Only the TAPs within the pool's size: one beyond a lowered size is
     * kept only until it is let go (a guest may have it open). */
    g_autoptr(GHashTable) in_size = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < pool->size; i++)
        g_hash_table_add(in_size, cn_pool_tap_name(pool, i));
    for (guint i = 0; i < pool_state->taps->len; i++) {
        CnPoolTap *entry = pool_state->taps->pdata[i];
        /* Recorded but not made (create was interrupted): not handed out. */
        if (entry->machine || !g_hash_table_contains(in_size, entry->tap) || if_nametoindex(entry->tap) == 0)
            continue;
        entry->machine = g_strdup(machine);
        entry->has_mac = mac != NULL;
        if (mac)
            memcpy(entry->mac, mac, 6);
        entry->since = g_get_real_time() / G_USEC_PER_SEC;
        if (!cn_pool_save(state, pool, pool_state, error))
            return FALSE;
        *tap = g_strdup(entry->tap);
        return TRUE;
    }
    g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_BUSY, "all %u TAP devices of pool %s are in use", pool->size,
                pool->name);
    return FALSE;
}

gboolean cn_pool_release(CnState *state, const CnPool *pool, const char *tap, gboolean *was_held,
                         GError **error)
{
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    CnPoolTap *entry = find_tap(pool_state, tap);
    if (!entry) {
        g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_UNKNOWN, "%s is not a TAP of pool %s", tap,
                    pool->name);
        return FALSE;
    }
    *was_held = entry->machine != NULL;
    if (!*was_held)
        return TRUE;
    clear_holder(entry);
    return cn_pool_save(state, pool, pool_state, error);
}

gboolean cn_pool_release_stale(CnState *state, const CnPool *pool, const CnSite *site,
                               GPtrArray *released, GError **error)
{
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    for (guint i = 0; i < pool_state->taps->len; i++) {
        CnPoolTap *entry = pool_state->taps->pdata[i];
        if (!entry->machine || cn_site_find_machine(site, entry->machine))
            continue;
        g_ptr_array_add(released, g_strdup_printf("%s (held by %s)", entry->tap, entry->machine));
        clear_holder(entry);
    }
    return released->len == 0 || cn_pool_save(state, pool, pool_state, error);
}

gboolean cn_pool_dispose(CnState *state, const CnPool *pool, gboolean force, GError **error)
{
    g_autoptr(CnPoolState) pool_state = cn_pool_load(state, pool, error);
    if (!pool_state)
        return FALSE;
    guint held = 0;
    for (guint i = 0; i < pool_state->taps->len; i++)
        held += ((CnPoolTap *)pool_state->taps->pdata[i])->machine != NULL;
    if (held && !force) {
        g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_BUSY,
                    "%u TAP device(s) of pool %s are in use (release them, or --force)", held, pool->name);
        return FALSE;
    }
    g_autoptr(CnTapContext) context = cn_tap_context_new(error);
    if (!context)
        return FALSE;
    g_autoptr(CnTapScan) scan = cn_tap_scan(context, error);
    if (!scan)
        return FALSE;
    /* Every name the pool may have made, recorded or not (a crash between
     * making and recording), all deleted together. */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < MAX(pool->size, pool_state->taps->len); i++)
        g_ptr_array_add(names, cn_pool_tap_name(pool, i));
    for (guint i = 0; i < pool_state->taps->len; i++)
        g_ptr_array_add(names, g_strdup(((CnPoolTap *)pool_state->taps->pdata[i])->tap));
    /* A TAP a process has open (QEMU: it has a carrier) goes only when
     * asked (--force), whatever the record says (it may have been given
     * back, or lost, while the guest still runs). */
    for (guint i = 0; !force && i < names->len; i++) {
        CnTapInfo info;
        cn_tap_scan_lookup(scan, names->pdata[i], &info);
        if (info.is_tap && info.carrier) {
            g_set_error(error, CN_POOL_ERROR, CN_POOL_ERROR_BUSY,
                        "%s of pool %s is open in a running guest though not recorded as held (stop the "
                        "guest, or --force)", (char *)names->pdata[i], pool->name);
            return FALSE;
        }
    }
    if (!cn_tap_delete_many(context, scan, names, cn_pool_ifgroup(pool), error))
        return FALSE;
    g_autofree char *name = cn_pool_state_file_name(pool->name);
    return cn_state_remove(state, name, error);
}

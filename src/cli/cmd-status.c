/* cmd-status.c - carthage-net status: read-only; what libvirt and the host
 * have, next to what the definitions say.  Exit 5 when they differ. */
#include <stdio.h>
#include <string.h>

#include "cli-full.h"
#include "json-writer.h"
#include "paths.h"
#include "link.h"
#include "netxml-diff.h"
#include "ops-isolation.h"
#include "ops-network.h"
#include "ops-ovn.h"
#include "ovn-plan.h"
#include "owned-bridges.h"
#include "pool.h"
#include "render.h"
#include "templates.h"
#include "virt.h"

/* One difference between the definitions and the host. */
typedef struct {
    const char *kind; /* missing, config, live, stopped, extra, bridge, isolation, ovn */
    char *what;
    CnIsolationDrift *isolation; /* kind isolation: the element, when about one */
} Drift;

typedef struct {
    const char *name;
    const char *technology;
    const char *bridge;
    CnVirtNetwork virt;
    gboolean in_ovn;  /* an OVN switch: virt unused */
    GPtrArray *drift; /* Drift* */
} NetworkStatus;

static void drift_free(gpointer data)
{
    Drift *drift = data;
    g_free(drift->what);
    cn_isolation_drift_free(drift->isolation);
    g_free(drift);
}

static void add_drift(GPtrArray *drift, const char *kind, const char *format, ...) G_GNUC_PRINTF(3, 4);
static void add_drift(GPtrArray *drift, const char *kind, const char *format, ...)
{
    va_list args;
    Drift *item = g_new0(Drift, 1);
    item->kind = kind;
    va_start(args, format);
    item->what = g_strdup_vprintf(format, args);
    va_end(args);
    g_ptr_array_add(drift, item);
}

static void status_free(gpointer data)
{
    NetworkStatus *status = data;
    cn_virt_network_clear(&status->virt);
    g_ptr_array_unref(status->drift);
    g_free(status);
}

/* LIVE: carthage-net's <metadata> in the running network is what it
 * started with (libvirt cannot change it); the hook's record carries the
 * data since, and is checked with the isolation. */
static void diff_to_drift(const CnNetDiff *diff, const char *kind, gboolean live, GPtrArray *drift)
{
    for (guint i = 0; i < diff->restart_reasons->len; i++)
        add_drift(drift, kind, "%s", (char *)diff->restart_reasons->pdata[i]);
    for (guint i = 0; i < diff->updates->len; i++) {
        const CnNetUpdate *update = diff->updates->pdata[i];
        add_drift(drift, kind, "%s %s", update->command == CN_NET_UPDATE_ADD ? "missing" : "extra",
                  update->description);
    }
    if (diff->metadata_changed && !live)
        add_drift(drift, kind, "carthage-net metadata differs");
}

static gboolean examine(CnVirt *virt, const CnNetwork *net, xmlDocPtr template,
                        NetworkStatus *status, GError **error)
{
    status->name = net->name;
    status->technology = cn_technology_name(net->technology);
    status->bridge = net->bridge_name;
    if (cn_network_in_ovn(net)) {
        /* Until examine_ovn finds the switch missing. */
        status->in_ovn = TRUE;
        status->virt.exists = status->virt.active = status->virt.persistent = TRUE;
        return TRUE;
    }
    if (!cn_virt_network_get(virt, net->name, &status->virt, error))
        return FALSE;
    if (!status->virt.exists) {
        add_drift(status->drift, "missing", "not defined in libvirt");
        return TRUE;
    }
    g_autoptr(xmlDoc) wanted = cn_render_network(net, template);
    if (status->virt.config) {
        g_autoptr(CnNetDiff) diff = cn_net_diff(status->virt.config, wanted);
        diff_to_drift(diff, "config", FALSE, status->drift);
    }
    if (status->virt.live) {
        g_autoptr(CnNetDiff) diff = cn_net_diff(status->virt.live, wanted);
        diff_to_drift(diff, "live", TRUE, status->drift);
    } else {
        add_drift(status->drift, "stopped", "defined but not running");
    }
    if (status->virt.active && cn_network_has_isolation(net)) {
        g_autoptr(GPtrArray) isolation = g_ptr_array_new_with_free_func((GDestroyNotify)cn_isolation_drift_free);
        if (!cn_isolation_drift(net, cn_paths_run_dir(), isolation, error))
            return FALSE;
        for (guint i = 0; i < isolation->len; i++) {
            CnIsolationDrift *item = isolation->pdata[i];
            add_drift(status->drift, "isolation", "%s", item->what);
            Drift *last = g_ptr_array_index(status->drift, status->drift->len - 1);
            if (item->set)
                last->isolation = g_steal_pointer(&isolation->pdata[i]);
        }
    }
    if (cn_network_uses_host_bridge(net)) {
        gboolean exists = FALSE;
        if (!cn_link_exists(net->bridge_name, &exists, error))
            return FALSE;
        if (!exists)
            add_drift(status->drift, "bridge", "host bridge %s does not exist", net->bridge_name);
    }
    return TRUE;
}

/* OVN's networks: what the northbound database has, next to what the
 * definitions say (one read per database). */
static gboolean examine_ovn(CnCli *cli, const CnSite *site, GPtrArray *statuses, GPtrArray *ovn_extra,
                            GError **error)
{
    g_autoptr(GPtrArray) networks = g_ptr_array_new();
    for (guint i = 0; i < statuses->len; i++) {
        NetworkStatus *status = statuses->pdata[i];
        if (status->in_ovn)
            g_ptr_array_add(networks, cn_site_find_network(site, status->name));
    }
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)cn_ovn_change_free);
    const CnOvnOptions options = { .northbound = cli->ovn_nb };
    if (networks->len && !cn_ops_ovn_status(site, networks, &options, changes, error))
        return FALSE;
    for (guint i = 0; i < changes->len; i++) {
        CnOvnChange *change = changes->pdata[i];
        NetworkStatus *status = NULL;
        for (guint j = 0; j < statuses->len && !status; j++)
            if (strcmp(((NetworkStatus *)statuses->pdata[j])->name, change->network) == 0)
                status = statuses->pdata[j];
        if (!status || !status->in_ovn) {
            g_ptr_array_add(ovn_extra, cn_ovn_change_describe(change));
            continue;
        }
        if (strcmp(change->object, "switch") == 0 && change->kind == CN_OVN_MISSING)
            status->virt.exists = FALSE;
        add_drift(status->drift, "ovn", "%s: %s%s%s", change->object, cn_ovn_change_kind_name(change->kind),
                  change->detail ? ": " : "", change->detail ? change->detail : "");
    }
    return TRUE;
}

static void json_strings(CnJson *json, const char *key, GPtrArray *strings)
{
    cn_json_key(json, key);
    cn_json_begin_array(json);
    for (guint i = 0; i < strings->len; i++)
        cn_json_string(json, strings->pdata[i]);
    cn_json_end_array(json);
}

static void print_json(GPtrArray *statuses, GPtrArray *extra, GPtrArray *ovn_extra, GPtrArray *pool_drift,
                       GPtrArray *stale, GPtrArray *orphans, gboolean drifted)
{
    CnJson *json = cn_json_new();
    cn_json_begin_object(json);
    cn_json_member_uint(json, "version", 1);
    cn_json_key(json, "networks");
    cn_json_begin_array(json);
    for (guint i = 0; i < statuses->len; i++) {
        const NetworkStatus *s = statuses->pdata[i];
        cn_json_begin_object(json);
        cn_json_member_string(json, "name", s->name);
        cn_json_member_string(json, "technology", s->technology);
        cn_json_member_string(json, "bridge", s->bridge ? s->bridge : "");
        cn_json_member_bool(json, "defined", s->virt.exists);
        cn_json_member_bool(json, "active", s->virt.active);
        cn_json_member_bool(json, "autostart", s->virt.autostart);
        cn_json_member_bool(json, "persistent", s->virt.persistent);
        cn_json_member_string(json, "uuid", s->virt.exists && !s->in_ovn ? s->virt.uuid : NULL);
        cn_json_key(json, "drift");
        cn_json_begin_array(json);
        for (guint j = 0; j < s->drift->len; j++) {
            const Drift *d = s->drift->pdata[j];
            cn_json_begin_object(json);
            cn_json_member_string(json, "kind", d->kind);
            cn_json_member_string(json, "what", d->what);
            if (d->isolation) {
                /* One element of the kernel's sets: which, and whose. */
                cn_json_member_string(json, "set", d->isolation->set);
                cn_json_member_string(json, "element", d->isolation->element);
                cn_json_member_string(json, "change", d->isolation->change);
                cn_json_member_string(json, "guest", d->isolation->guest);
            }
            cn_json_end_object(json);
        }
        cn_json_end_array(json);
        cn_json_end_object(json);
    }
    cn_json_end_array(json);
    json_strings(json, "extra_networks", extra);
    json_strings(json, "extra_ovn", ovn_extra);
    json_strings(json, "pool_drift", pool_drift);
    json_strings(json, "stale_domain_records", stale);
    json_strings(json, "orphan_temporaries", orphans);
    cn_json_member_bool(json, "drift", drifted);
    cn_json_end_object(json);
    g_autofree char *text = cn_json_steal(json);
    printf("%s\n", text);
}

static void print_text(GPtrArray *statuses, GPtrArray *extra, GPtrArray *ovn_extra, GPtrArray *pool_drift,
                       GPtrArray *stale, GPtrArray *orphans)
{
    printf("%-16s %-12s %-9s %-9s %-15s %s\n", "NETWORK", "TECHNOLOGY", "STATE", "AUTOSTART",
           "BRIDGE", "IN STEP");
    for (guint i = 0; i < statuses->len; i++) {
        const NetworkStatus *s = statuses->pdata[i];
        printf("%-16s %-12s %-9s %-9s %-15s %s\n", s->name, s->technology,
               !s->virt.exists ? "missing" : s->virt.active ? "active" : "inactive",
               !s->virt.exists || s->in_ovn ? "-" : s->virt.autostart ? "yes" : "no", s->bridge ? s->bridge : "-",
               s->drift->len ? "no" : "yes");
    }
    for (guint i = 0; i < statuses->len; i++) {
        const NetworkStatus *s = statuses->pdata[i];
        for (guint j = 0; j < s->drift->len; j++) {
            const Drift *d = s->drift->pdata[j];
            printf("drift: network %s: %s: %s\n", s->name, d->kind, d->what);
        }
    }
    for (guint i = 0; i < extra->len; i++)
        printf("drift: network %s: extra: made by carthage-net but not in the definitions\n",
               (char *)extra->pdata[i]);
    for (guint i = 0; i < ovn_extra->len; i++)
        printf("drift: %s\n", (char *)ovn_extra->pdata[i]);
    for (guint i = 0; i < pool_drift->len; i++)
        printf("drift: %s\n", (char *)pool_drift->pdata[i]);
    for (guint i = 0; i < stale->len; i++)
        printf("drift: domain %s: the hook recorded ports for it but it is not running (carthage-net repair "
               "forgets them)\n", (char *)stale->pdata[i]);
    for (guint i = 0; i < orphans->len; i++)
        printf("drift: run directory %s: %s left by a writer that was killed (carthage-net repair removes it)\n",
               cn_paths_run_dir(), (char *)orphans->pdata[i]);
}

int cn_cmd_status(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "status", "[--json]",
        "Read-only: networks, and anything out of step with the definitions (exit 5).", NULL
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, NULL, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc > 1) {
        cn_cli_error("status: takes no arguments");
        return CN_EXIT_USAGE;
    }
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    g_autoptr(xmlDoc) template = cn_cli_load_template("network.xml", &exit_code);
    if (!template)
        return exit_code;
    g_autoptr(CnVirt) virt = cn_cli_open_virt(cli, &exit_code);
    if (!virt)
        return exit_code;

    g_autoptr(GPtrArray) statuses = g_ptr_array_new_with_free_func(status_free);
    gboolean drifted = FALSE;
    for (guint i = 0; i < site->networks->len; i++) {
        NetworkStatus *status = g_new0(NetworkStatus, 1);
        status->drift = g_ptr_array_new_with_free_func(drift_free);
        g_ptr_array_add(statuses, status);
        if (!examine(virt, site->networks->pdata[i], template, status, &error))
            return cn_cli_fail(error);
    }
    g_autoptr(GPtrArray) ovn_extra = g_ptr_array_new_with_free_func(g_free);
    if (!examine_ovn(cli, site, statuses, ovn_extra, &error))
        return cn_cli_fail(error);
    drifted |= ovn_extra->len > 0;
    for (guint i = 0; i < statuses->len; i++)
        drifted |= ((NetworkStatus *)statuses->pdata[i])->drift->len > 0;
    g_autoptr(GPtrArray) ours = cn_virt_our_networks(virt, &error);
    if (!ours)
        return cn_cli_fail(error);
    g_autoptr(GPtrArray) extra = g_ptr_array_new();
    for (guint i = 0; i < ours->len; i++) {
        if (!cn_site_find_network(site, ours->pdata[i]))
            g_ptr_array_add(extra, ours->pdata[i]);
    }
    drifted |= extra->len > 0;

    /* Pools: read-only, under a shared lock. */
    g_autoptr(GPtrArray) pool_drift = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(CnState) state = cn_state_open(cli->state_dir, FALSE, &error);
    if (!state)
        return cn_cli_fail(error);
    for (guint i = 0; i < site->pools->len; i++) {
        const CnPool *pool = site->pools->pdata[i];
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        if (!cn_pool_check(state, pool, lines, &error)) {
            g_prefix_error(&error, "pool %s: ", pool->name);
            return cn_cli_fail(error);
        }
        for (guint j = 0; j < lines->len; j++)
            g_ptr_array_add(pool_drift, g_strdup_printf("pool %s: %s", pool->name, (char *)lines->pdata[j]));
    }
    drifted |= pool_drift->len > 0;
    g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
    if (!cn_ops_stale_domain_records(virt, cn_paths_run_dir(), stale, &error))
        return cn_cli_fail(error);
    drifted |= stale->len > 0;
    g_autoptr(GPtrArray) orphans = g_ptr_array_new_with_free_func(g_free);
    cn_runtime_list_orphans(cn_paths_run_dir(), orphans);
    drifted |= orphans->len > 0;

    if (cli->json)
        print_json(statuses, extra, ovn_extra, pool_drift, stale, orphans, drifted);
    else
        print_text(statuses, extra, ovn_extra, pool_drift, stale, orphans);
    return drifted ? CN_EXIT_DRIFT : CN_EXIT_OK;
}

/* ops-ovn.c - OVN networks through the northbound database. */
#include <string.h>

#include "alloc.h"
#include "ops-ovn-metadata.h"
#include "ops-ovn.h"
#include "ovn-plan.h"
#include "ovsdb-client.h"

/* Attempts of one define before it gives up: each failed attempt means
 * another host's change landed in between (it is then read). */
#define DEFINE_ATTEMPTS 12

static const char *remote_of(const CnNetwork *net, const CnOvnOptions *options)
{
    if (options && options->northbound)
        return options->northbound;
    return net && net->ovn_northbound ? net->ovn_northbound : CN_OVN_NB_DEFAULT;
}

static CnOvsdbClient *connect_for(const CnNetwork *net, const CnOvnOptions *options, GError **error)
{
    CnOvsdbTls tls = { 0 };
    if (net) {
        tls.private_key = net->ovn_private_key;
        tls.certificate = net->ovn_certificate;
        tls.ca_certificate = net->ovn_ca_certificate;
    }
    return cn_ovsdb_connect(remote_of(net, options), &tls, error);
}

static CnNbSnapshot *read_snapshot(CnOvsdbClient *client, GError **error)
{
    g_autoptr(GPtrArray) ops = cn_nb_snapshot_ops();
    g_autoptr(JsonArray) results = cn_ovsdb_transact(client, CN_OVN_NB_DB, ops, error);
    if (!results)
        return NULL;
    CnNbSnapshot *nb = cn_nb_snapshot_parse(results, error);
    if (!nb)
        g_prefix_error(error, "northbound database %s: ", cn_ovsdb_client_remote(client));
    return nb;
}

/* The networks of NETWORKS that share a database with the first not yet
 * done, taken out of TODO. */
static GPtrArray *take_same_database(GPtrArray *todo, const CnOvnOptions *options)
{
    GPtrArray *group = g_ptr_array_new();
    const char *remote = remote_of(todo->pdata[0], options);
    for (guint i = 0; i < todo->len;) {
        if (strcmp(remote_of(todo->pdata[i], options), remote) == 0)
            g_ptr_array_add(group, g_ptr_array_steal_index(todo, i));
        else
            i++;
    }
    return group;
}

static const char *verb(CnOvnChangeKind kind, gboolean dry_run)
{
    static const char *const done[] = { "added", "removed", "updated" };
    static const char *const would[] = { "would be added", "would be removed", "would be updated" };
    return dry_run ? would[kind] : done[kind];
}

static void report_plan(const CnOvnPlan *plan, GPtrArray *networks, gboolean dry_run, GPtrArray *report)
{
    for (guint i = 0; i < networks->len; i++) {
        const CnNetwork *net = networks->pdata[i];
        gboolean any = FALSE;
        for (guint j = 0; j < plan->changes->len; j++) {
            const CnOvnChange *change = plan->changes->pdata[j];
            if (strcmp(change->network, net->name) != 0)
                continue;
            any = TRUE;
            g_ptr_array_add(report, g_strdup_printf("network %s: ovn: %s: %s%s%s", net->name, change->object,
                                                    verb(change->kind, dry_run), change->detail ? ": " : "",
                                                    change->detail ? change->detail : ""));
        }
        if (!any)
            g_ptr_array_add(report, g_strdup_printf("network %s: unchanged", net->name));
    }
    for (guint i = 0; i < plan->notes->len; i++)
        g_ptr_array_add(report, g_strdup(plan->notes->pdata[i]));
}

/* The transact's params, an operation a line: what --dry-run prints and
 * the goldens hold. */
static char *transaction_text(GPtrArray *ops)
{
    GString *text = g_string_new("[\n  \"" CN_OVN_NB_DB "\"");
    for (guint i = 0; i < ops->len; i++) {
        g_autofree char *op = cn_ovsdb_to_text(ops->pdata[i], FALSE);
        g_string_append_printf(text, ",\n  %s", op);
    }
    g_string_append(text, "\n]");
    return g_string_free(text, FALSE);
}

static char *comment_for(const char *verb_text, GPtrArray *networks)
{
    GString *comment = g_string_new("carthage-net ");
    g_string_append(comment, verb_text);
    for (guint i = 0; i < networks->len; i++)
        g_string_append_printf(comment, " %s", ((const CnNetwork *)networks->pdata[i])->name);
    return g_string_free(comment, FALSE);
}

/* Plans one transaction against a snapshot; NULL with ERROR set to stop. */
typedef CnOvnPlan *(*PlanFunc)(const CnNbSnapshot *nb, gpointer data, GError **error);

/* Reads, plans with PLAN and sends, reading again while another writer's
 * change lands first.  The plan sent, or the one not sent (empty, or on a
 * DRY_RUN); NULL on errors. */
static CnOvnPlan *transact_planned(CnOvsdbClient *client, PlanFunc plan_func, gpointer data, gboolean dry_run,
                                   GPtrArray *report, GError **error)
{
    for (guint attempt = 1; attempt <= DEFINE_ATTEMPTS; attempt++) {
        g_autoptr(CnNbSnapshot) nb = read_snapshot(client, error);
        if (!nb)
            return NULL;
        g_autoptr(CnOvnPlan) plan = plan_func(nb, data, error);
        if (!plan)
            return NULL;
        if (plan->ops->len == 0 || dry_run)
            return g_steal_pointer(&plan);
        g_autoptr(GError) local = NULL;
        g_autoptr(JsonArray) results = cn_ovsdb_transact(client, CN_OVN_NB_DB, plan->ops, &local);
        if (results)
            return g_steal_pointer(&plan);
        if (!g_error_matches(local, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONFLICT)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        /* Another host's change landed first: read it, after a pause that
         * keeps two hosts from meeting again and again. */
        g_ptr_array_add(report, g_strdup_printf("northbound database %s: changed by another writer since it was "
                                                "read; reading it again (attempt %u of %u)",
                                                cn_ovsdb_client_remote(client), attempt + 1, DEFINE_ATTEMPTS));
        g_usleep((gulong)g_random_int_range(5000, 20000) * attempt);
    }
    g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_BUSY,
                "northbound database %s: %u attempts, each overtaken by another change; try again",
                cn_ovsdb_client_remote(client), DEFINE_ATTEMPTS);
    return NULL;
}

typedef struct {
    GPtrArray *networks;
    const char *comment;
    const char *name; /* undefine */
} PlanArgs;

static CnOvnPlan *plan_define(const CnNbSnapshot *nb, gpointer data, GError **error)
{
    const PlanArgs *args = data;
    return cn_ovn_plan_networks(args->networks, nb, args->comment, error);
}

static CnOvnPlan *plan_undefine(const CnNbSnapshot *nb, gpointer data, GError **error)
{
    const PlanArgs *args = data;
    return cn_ovn_plan_removal(args->name, nb, args->comment, error);
}

static gboolean define_group(GPtrArray *networks, const CnOvnOptions *options, GPtrArray *report, GError **error)
{
    g_autoptr(CnOvsdbClient) client = connect_for(networks->pdata[0], options, error);
    if (!client)
        return FALSE;
    g_autofree char *comment = comment_for("define", networks);
    PlanArgs args = { networks, comment, NULL };
    g_autoptr(CnOvnPlan) plan = transact_planned(client, plan_define, &args, options->dry_run, report, error);
    if (!plan)
        return FALSE;
    report_plan(plan, networks, options->dry_run, report);
    if (options->dry_run && plan->ops->len)
        g_ptr_array_add(report, transaction_text(plan->ops));
    return TRUE;
}

gboolean cn_ops_ovn_define(GPtrArray *networks, const CnOvnOptions *options, GPtrArray *report, GError **error)
{
    g_autoptr(GPtrArray) todo = g_ptr_array_new(); /* borrowed: no free function */
    g_ptr_array_extend(todo, networks, NULL, NULL);
    while (todo->len) {
        g_autoptr(GPtrArray) group = take_same_database(todo, options);
        if (!define_group(group, options, report, error))
            return FALSE;
    }
    return TRUE;
}

gboolean cn_ops_ovn_status(const CnSite *site, GPtrArray *networks, const CnOvnOptions *options, GPtrArray *changes,
                           GError **error)
{
    g_autoptr(GPtrArray) todo = g_ptr_array_new(); /* borrowed: no free function */
    g_ptr_array_extend(todo, networks, NULL, NULL);
    gboolean extra_done = FALSE;
    while (todo->len) {
        g_autoptr(GPtrArray) group = take_same_database(todo, options);
        g_autoptr(CnOvsdbClient) client = connect_for(group->pdata[0], options, error);
        if (!client)
            return FALSE;
        g_autoptr(CnNbSnapshot) nb = read_snapshot(client, error);
        if (!nb)
            return FALSE;
        g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(group, nb, NULL, error);
        if (!plan)
            return FALSE;
        g_ptr_array_extend_and_steal(changes, g_steal_pointer(&plan->changes));
        plan->changes = g_ptr_array_new();
        /* Extra switches: looked for in the first database only (others
         * would list the same names again). */
        if (site && !extra_done)
            cn_ovn_extra_switches(site, nb, changes);
        extra_done = TRUE;
    }
    return TRUE;
}

gboolean cn_ops_ovn_undefine(const char *name, const CnNetwork *net, const CnOvnOptions *options, GPtrArray *report,
                             GError **error)
{
    g_autoptr(CnOvsdbClient) client = connect_for(net, options, error);
    if (!client)
        return FALSE;
    g_autofree char *comment = g_strdup_printf("carthage-net undefine %s", name);
    PlanArgs args = { NULL, comment, name };
    g_autoptr(CnOvnPlan) plan = transact_planned(client, plan_undefine, &args, FALSE, report, error);
    if (!plan)
        return FALSE;
    if (plan->ops->len == 0) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "network %s: no logical switch of carthage-net's by that name in the northbound database %s", name,
                    cn_ovsdb_client_remote(client));
        return FALSE;
    }
    for (guint i = 0; i < plan->changes->len; i++) {
        const CnOvnChange *change = plan->changes->pdata[i];
        g_ptr_array_add(report, g_strdup_printf("network %s: ovn: %s: removed", name, change->object));
    }
    return TRUE;
}

static CnOvnPlan *plan_purge(const CnNbSnapshot *nb, gpointer data, GError **error)
{
    const PlanArgs *args = data;
    return cn_ovn_plan_purge(nb, args->comment);
}

gboolean cn_ops_ovn_purge(GPtrArray *networks, const CnOvnOptions *options, GPtrArray *report, GError **error)
{
    g_autoptr(GPtrArray) todo = g_ptr_array_new(); /* borrowed: no free function */
    g_ptr_array_extend(todo, networks, NULL, NULL);
    /* Only --ovn-nb: that database, whatever the definitions say. */
    if (todo->len == 0 && options->northbound)
        g_ptr_array_add(todo, NULL);
    while (todo->len) {
        g_autoptr(GPtrArray) group = todo->pdata[0] ? take_same_database(todo, options) : NULL;
        const CnNetwork *first = group ? group->pdata[0] : g_ptr_array_steal_index(todo, 0);
        g_autoptr(CnOvsdbClient) client = connect_for(first, options, error);
        if (!client)
            return FALSE;
        PlanArgs args = { NULL, "carthage-net repair --purge", NULL };
        g_autoptr(CnOvnPlan) plan = transact_planned(client, plan_purge, &args, options->dry_run, report, error);
        if (!plan)
            return FALSE;
        for (guint i = 0; i < plan->changes->len; i++) {
            const CnOvnChange *change = plan->changes->pdata[i];
            g_ptr_array_add(report, g_strdup_printf("network %s: ovn: %s: removed", change->network, change->object));
        }
        if (plan->changes->len == 0)
            g_ptr_array_add(report, g_strdup_printf("northbound database %s: nothing of carthage-net's",
                                                    cn_ovsdb_client_remote(client)));
    }
    return TRUE;
}

char *cn_ops_ovn_render(GPtrArray *networks, GError **error)
{
    g_autoptr(CnNbSnapshot) empty = cn_nb_snapshot_new();
    g_autofree char *comment = comment_for("define", networks);
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(networks, empty, comment, error);
    return plan ? transaction_text(plan->ops) : NULL;
}

gboolean cn_ops_ovn_pool_addresses(GPtrArray *networks, const CnOvnOptions *options, GError **error)
{
    g_autoptr(GPtrArray) todo = g_ptr_array_new(); /* borrowed: no free function */
    g_ptr_array_extend(todo, networks, NULL, NULL);
    while (todo->len) {
        g_autoptr(GPtrArray) group = take_same_database(todo, options);
        g_autoptr(CnOvsdbClient) client = connect_for(group->pdata[0], options, error);
        if (!client)
            return FALSE;
        g_autoptr(CnNbSnapshot) nb = read_snapshot(client, error);
        if (!nb)
            return FALSE;
        for (guint i = 0; i < group->len; i++) {
            const CnNetwork *net = group->pdata[i];
            for (guint j = 0; j < net->links->len; j++) {
                CnLink *link = net->links->pdata[j];
                if (link->v4_source != CN_V4_POOL)
                    continue;
                char name[CN_UUID_STR_MAX];
                cn_ovn_port_name(link->machine_name, link->iface, name);
                const CnNbPort *port = g_hash_table_lookup(nb->port_by_name, name);
                uint32_t address = port ? cn_ovn_port_address(port) : 0;
                link->v4_address = address && cn_v4_is_host(address, net->v4_subnet.network, net->v4_subnet.prefix)
                                       ? address : 0;
            }
        }
    }
    return TRUE;
}

struct CnOvnPortCheck {
    char *remote, *network;
    char *private_key, *certificate, *ca_certificate; /* copies: the definitions may be reloaded */
    CnOvsdbTls tls;                                   /* points at them */
    CnOvsdbClient *client;
};

CnOvnPortCheck *cn_ovn_port_check_new(const CnNetwork *net, const CnOvnOptions *options)
{
    CnOvnPortCheck *check = g_new0(CnOvnPortCheck, 1);
    check->remote = g_strdup(remote_of(net, options));
    check->tls.private_key = check->private_key = g_strdup(net->ovn_private_key);
    check->tls.certificate = check->certificate = g_strdup(net->ovn_certificate);
    check->tls.ca_certificate = check->ca_certificate = g_strdup(net->ovn_ca_certificate);
    check->tls.timeout_seconds = 5;
    check->network = g_strdup(net->name);
    return check;
}

void cn_ovn_port_check_free(CnOvnPortCheck *check)
{
    if (!check)
        return;
    g_clear_pointer(&check->client, cn_ovsdb_close);
    g_free(check->remote);
    g_free(check->network);
    g_free(check->private_key);
    g_free(check->certificate);
    g_free(check->ca_certificate);
    g_free(check);
}

static JsonArray *port_rows(CnOvnPortCheck *check, const char *name, GError **error)
{
    static const char *const columns[] = { "port_security", "external_ids", NULL };
    g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_ptr_array_add(ops, cn_ovsdb_op_select_named("Logical_Switch_Port", name, columns));
    for (guint attempt = 0; attempt < 2; attempt++) {
        if (!check->client && !(check->client = cn_ovsdb_connect(check->remote, &check->tls, error)))
            return NULL;
        g_autoptr(GError) local = NULL;
        JsonArray *results = cn_ovsdb_transact(check->client, CN_OVN_NB_DB, ops, &local);
        if (results)
            return results;
        /* A connection the server closed: once more on a new one. */
        g_clear_pointer(&check->client, cn_ovsdb_close);
        if (attempt == 1 || !g_error_matches(local, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
    }
    return NULL;
}

gboolean cn_ovn_port_check(CnOvnPortCheck *check, const CnLink *link, uint32_t address, gboolean *pinned,
                           GError **error)
{
    *pinned = FALSE;
    char name[CN_UUID_STR_MAX], mac[CN_MAC_STR_MAX], ip[CN_V4_STR_MAX];
    cn_ovn_port_name(link->machine_name, link->iface, name);
    cn_mac_format(link->mac, mac);
    cn_v4_format(address, ip);
    g_autoptr(JsonArray) results = port_rows(check, name, error);
    if (!results)
        return FALSE;
    JsonObject *result = json_array_get_object_element(results, 0);
    JsonArray *rows = result && json_object_has_member(result, "rows") ? json_object_get_array_member(result, "rows")
                                                                      : NULL;
    if (!rows || json_array_get_length(rows) != 1)
        return TRUE; /* no such port (or not one): nobody's */
    JsonNode *row = json_array_get_element(rows, 0);
    if (!JSON_NODE_HOLDS_OBJECT(row))
        return TRUE;
    g_autoptr(GPtrArray) security = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!cn_ovsdb_row_set(json_node_get_object(row), "Logical_Switch_Port", "port_security", "string", security,
                          error) ||
        !cn_ovsdb_row_map(json_node_get_object(row), "Logical_Switch_Port", "external_ids", ids, error))
        return FALSE;
    if (g_strcmp0(cn_nb_owner_network(ids), check->network) != 0)
        return TRUE;
    for (guint i = 0; i < security->len && !*pinned; i++) {
        g_auto(GStrv) words = g_strsplit(security->pdata[i], " ", -1);
        if (!words[0] || g_ascii_strcasecmp(words[0], mac) != 0)
            continue;
        for (gsize j = 1; words[j] && !*pinned; j++)
            *pinned = strcmp(words[j], ip) == 0;
    }
    return TRUE;
}

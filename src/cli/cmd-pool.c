/* cmd-pool.c - carthage-net pool create|list|acquire|release|dispose NAME */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json-writer.h"
#include "netaddr.h"
#include "pool.h"

typedef struct {
    CnCli *cli;
    CnSite *site;
    CnPool *pool;
    CnState *state;
    const char *machine;
    const char *mac;
    gboolean stale;
    gboolean force;
} PoolContext;

static int pool_error(GError *error)
{
    cn_cli_error("%s", error->message);
    if (error->domain == CN_POOL_ERROR && error->code == CN_POOL_ERROR_BUSY)
        return CN_EXIT_BUSY;
    if (error->domain == CN_POOL_ERROR && error->code == CN_POOL_ERROR_UNKNOWN)
        return CN_EXIT_INVALID;
    return CN_EXIT_SYSTEM;
}

static void print_report(const CnPool *pool, GPtrArray *report)
{
    for (guint i = 0; i < report->len; i++)
        printf("pool %s: %s\n", pool->name, (char *)report->pdata[i]);
}

static int pool_create(PoolContext *ctx, char **args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = cn_pool_create(ctx->state, ctx->pool, report, &error);
    print_report(ctx->pool, report);
    return ok ? CN_EXIT_OK : pool_error(error);
}

static int pool_acquire(PoolContext *ctx, char **args)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *tap = NULL;
    uint8_t mac[6];
    if (!ctx->machine) {
        cn_cli_error("pool acquire: --machine MACHINE is required (who holds the TAP)");
        return CN_EXIT_USAGE;
    }
    if (!cn_dns_name_is_valid(ctx->machine)) {
        cn_cli_error("pool acquire: --machine '%s' is not a machine name", ctx->machine);
        return CN_EXIT_USAGE;
    }
    if (ctx->mac && !cn_mac_parse(ctx->mac, mac)) {
        cn_cli_error("pool acquire: --mac '%s' is not a MAC address", ctx->mac);
        return CN_EXIT_USAGE;
    }
    if (!cn_pool_acquire(ctx->state, ctx->pool, ctx->machine, ctx->mac ? mac : NULL, &tap, &error))
        return pool_error(error);
    printf("%s\n", tap);
    return CN_EXIT_OK;
}

static int pool_release(PoolContext *ctx, char **args)
{
    g_autoptr(GError) error = NULL;
    if (ctx->stale) {
        if (args[0]) {
            cn_cli_error("pool release --stale takes no TAP name");
            return CN_EXIT_USAGE;
        }
        g_autoptr(GPtrArray) released = g_ptr_array_new_with_free_func(g_free);
        if (!cn_pool_release_stale(ctx->state, ctx->pool, ctx->site, released, &error))
            return pool_error(error);
        for (guint i = 0; i < released->len; i++)
            printf("released %s: machine not in the definitions\n", (char *)released->pdata[i]);
        return CN_EXIT_OK;
    }
    if (!args[0]) {
        cn_cli_error("usage: carthage-net pool release NAME TAP | --stale");
        return CN_EXIT_USAGE;
    }
    gboolean was_held;
    if (!cn_pool_release(ctx->state, ctx->pool, args[0], &was_held, &error))
        return pool_error(error);
    if (!was_held)
        printf("%s was not in use\n", args[0]);
    return CN_EXIT_OK;
}

static int pool_dispose(PoolContext *ctx, char **args)
{
    g_autoptr(GError) error = NULL;
    if (!cn_pool_dispose(ctx->state, ctx->pool, ctx->force, &error))
        return pool_error(error);
    printf("pool %s: disposed\n", ctx->pool->name);
    return CN_EXIT_OK;
}

static int pool_list(PoolContext *ctx, char **args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CnPoolState) pool_state = cn_pool_load(ctx->state, ctx->pool, &error);
    if (!pool_state)
        return pool_error(error);
    g_autoptr(CnJson) json = cn_json_new();
    if (ctx->cli->json) {
        cn_json_begin_object(json);
        cn_json_member_uint(json, "version", 1);
        cn_json_member_string(json, "pool", ctx->pool->name);
        cn_json_member_uint(json, "size", ctx->pool->size);
        cn_json_key(json, "taps");
        cn_json_begin_array(json);
    } else {
        printf("%-16s %-24s %-18s %s\n", "TAP", "HOLDER", "MAC", "SINCE");
    }
    for (guint i = 0; i < pool_state->taps->len; i++) {
        const CnPoolTap *tap = pool_state->taps->pdata[i];
        char mac[CN_MAC_STR_MAX] = "";
        if (tap->has_mac)
            cn_mac_format(tap->mac, mac);
        g_autoptr(GDateTime) since = tap->since ? g_date_time_new_from_unix_utc(tap->since) : NULL;
        g_autofree char *when = since ? g_date_time_format_iso8601(since) : g_strdup("");
        if (ctx->cli->json) {
            cn_json_begin_object(json);
            cn_json_member_string(json, "tap", tap->tap);
            cn_json_member_string(json, "holder", tap->machine);
            cn_json_member_string(json, "mac", *mac ? mac : NULL);
            cn_json_member_string(json, "since", *when ? when : NULL);
            cn_json_end_object(json);
        } else {
            printf("%-16s %-24s %-18s %s\n", tap->tap, tap->machine ? tap->machine : "-", *mac ? mac : "-",
                   *when ? when : "-");
        }
    }
    if (ctx->cli->json) {
        cn_json_end_array(json);
        cn_json_end_object(json);
        printf("%s\n", cn_json_text(json));
    }
    return CN_EXIT_OK;
}

typedef struct {
    const char *what;
    guint max_args;
    gboolean writes;
    int (*run)(PoolContext *ctx, char **args);
} PoolVerb;

static const PoolVerb verbs[] = {
    { "create", 0, TRUE, pool_create },
    { "list", 0, FALSE, pool_list },
    { "acquire", 0, TRUE, pool_acquire },
    { "release", 1, TRUE, pool_release },
    { "dispose", 0, TRUE, pool_dispose },
};

int cn_cmd_pool(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "pool", "create|list|acquire|release|dispose NAME …",
        "The TAP pool: create all TAPs up front, hand one out, give it back, delete all.\n"
        "  pool create NAME\n  pool list NAME [--json]\n"
        "  pool acquire NAME --machine MACHINE [--mac MAC]   (exit 3 when all are in use)\n"
        "  pool release NAME TAP | NAME --stale\n  pool dispose NAME [--force]", NULL
    };
    PoolContext ctx = { cli };
    g_autofree char *machine = NULL, *mac = NULL;
    const GOptionEntry entries[] = {
        { "machine", 0, 0, G_OPTION_ARG_STRING, &machine, "acquire: the machine that holds the TAP", "MACHINE" },
        { "mac", 0, 0, G_OPTION_ARG_STRING, &mac, "acquire: the MAC it uses on it", "MAC" },
        { "stale", 0, 0, G_OPTION_ARG_NONE, &ctx.stale, "release: every TAP held by a machine no longer defined", NULL },
        { "force", 0, 0, G_OPTION_ARG_NONE, &ctx.force, "dispose: even while TAPs are in use", NULL },
        { NULL },
    };
    int exit_code = CN_EXIT_OK;
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    const PoolVerb *verb = NULL;
    for (gsize i = 0; argc > 1 && i < G_N_ELEMENTS(verbs); i++) {
        if (strcmp(verbs[i].what, argv[1]) == 0)
            verb = &verbs[i];
    }
    if (!verb || argc < 3 || (guint)argc - 3 > verb->max_args) {
        cn_cli_error("usage: carthage-net pool create|list|acquire|release|dispose NAME … (see "
                     "'carthage-net pool --help')");
        return CN_EXIT_USAGE;
    }
    ctx.machine = machine;
    ctx.mac = mac;
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    ctx.site = site;
    if (!(ctx.pool = cn_site_find_pool(site, argv[2]))) {
        cn_cli_error("unknown pool '%s'", argv[2]);
        return CN_EXIT_INVALID;
    }
    g_autoptr(CnState) state = cn_state_open(cli->state_dir, verb->writes, &error);
    if (!state)
        return cn_cli_fail(error);
    ctx.state = state;
    return verb->run(&ctx, argv + 3);
}

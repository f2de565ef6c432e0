/* common.c - loading the site for a command, and messages. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ops.h"
#include "netaddr.h"
#include "pool-state.h"
#include "state.h"

static void vmessage(const char *kind, const char *format, va_list args)
{
    g_autofree char *text = g_strdup_vprintf(format, args);
    fprintf(stderr, "carthage-net: %s%s\n", kind, text);
}

void cn_cli_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vmessage("", format, args);
    va_end(args);
}

int cn_cli_fail(const GError *error)
{
    cn_cli_error("%s", error->message);
    return error->domain == CN_OPS_ERROR ? error->code : CN_EXIT_SYSTEM;
}

void cn_cli_print_report(GPtrArray *report)
{
    for (guint i = 0; i < report->len; i++)
        printf("%s\n", (char *)report->pdata[i]);
}

void cn_cli_warning(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vmessage("warning: ", format, args);
    va_end(args);
}

gboolean cn_cli_parse_options(const CnCommand *command, const GOptionEntry *entries, int *argc,
                              char ***argv)
{
    g_autofree char *parameter = g_strdup_printf("%s %s", command->name, command->synopsis);
    g_autoptr(GOptionContext) context = g_option_context_new(parameter);
    g_autoptr(GError) error = NULL;

    g_option_context_set_summary(context, command->summary);
    if (entries)
        g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, argc, argv, &error)) {
        cn_cli_error("%s: %s (see 'carthage-net %s --help')", command->name, error->message,
                     command->name);
        return FALSE;
    }
    return TRUE;
}

static CnAssignments *read_assignments(CnState *state, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    CnAssignments *assignments = NULL;
    if (!cn_state_load(state, CN_ASSIGNMENTS_FILE, (CnStateParser)cn_assignments_parse, (gpointer *)&assignments,
                       &error)) {
        gboolean parse_error = !g_error_matches(error, CN_STATE_ERROR, CN_STATE_ERROR_IO);
        cn_cli_error("%s%s", error->message,
                     parse_error ? " (fix or remove the file; addresses are then allocated anew)" : "");
        *exit_code = CN_EXIT_SYSTEM;
        return NULL;
    }
    return assignments ? assignments : cn_assignments_new();
}

/* Opens the state directory for writing when SAVE, falling back to reading
 * when it cannot be written (allocation stays deterministic). */
static CnState *open_state(CnCli *cli, gboolean save, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    CnState *state = cn_state_open(cli->state_dir, save, &error);
    if (state)
        return state;
    if (save && g_error_matches(error, CN_STATE_ERROR, CN_STATE_ERROR_READONLY)) {
        cn_cli_warning("%s; pool addresses are computed but not saved", error->message);
        g_clear_error(&error);
        state = cn_state_open(cli->state_dir, FALSE, &error);
        if (state)
            return state;
    }
    cn_cli_error("%s", error->message);
    *exit_code = CN_EXIT_SYSTEM;
    return NULL;
}

CnSite *cn_cli_load_site(CnCli *cli, gboolean save, int *exit_code)
{
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    g_autoptr(CnSite) site = cn_defs_load_site((CnSource *)cli->sources->data, cli->sources->len, diags);

    if (!site) {
        cn_diag_print(diags, stderr, "carthage-net: ");
        *exit_code = CN_EXIT_INVALID;
        return NULL;
    }

    g_autoptr(CnState) state = open_state(cli, save, exit_code);
    if (!state)
        return NULL;
    g_autoptr(CnAssignments) previous = read_assignments(state, exit_code);
    if (!previous)
        return NULL;
    g_autoptr(CnAssignments) next = cn_alloc_v4(site, previous, diags);
    if (cn_diag_count(diags) > 0) {
        cn_diag_print(diags, stderr, "carthage-net: ");
        *exit_code = CN_EXIT_INVALID;
        return NULL;
    }
    if (cn_state_is_writable(state) && !cn_assignments_equal(previous, next)) {
        g_autofree char *text = cn_assignments_format(next);
        g_autoptr(GError) error = NULL;
        if (!cn_state_write(state, CN_ASSIGNMENTS_FILE, text, strlen(text), &error)) {
            cn_cli_error("%s", error->message);
            *exit_code = CN_EXIT_SYSTEM;
            return NULL;
        }
    }
    return g_steal_pointer(&site);
}

gboolean cn_cli_read_pool_state(CnState *state, const char *pool, CnPoolState **out, int *exit_code)
{
    g_autofree char *name = cn_pool_state_file_name(pool);
    g_autoptr(GError) error = NULL;
    if (!cn_state_load(state, name, (CnStateParser)cn_pool_state_parse, (gpointer *)out, &error)) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
        return FALSE;
    }
    return TRUE;
}

/* The TAPs MACHINE holds for its pool links (ONLY: just that link).
 * Exit 3 when a pool link holds none. */
GHashTable *cn_cli_held_taps(CnCli *cli, const CnMachine *machine, const CnLink *only,
                             int *exit_code)
{
    g_autoptr(GHashTable) taps = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) state = NULL;

    for (guint i = 0; i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (!link->pool || (only && link != only))
            continue;
        if (!state && !(state = cn_state_open(cli->state_dir, FALSE, &error))) {
            cn_cli_error("%s", error->message);
            *exit_code = CN_EXIT_SYSTEM;
            return NULL;
        }
        g_autoptr(CnPoolState) pool = NULL;
        if (!cn_cli_read_pool_state(state, link->pool->name, &pool, exit_code))
            return NULL;
        const CnPoolTap *tap = pool ? cn_pool_state_find_held(pool, machine->name, link->mac) : NULL;
        if (!tap) {
            char mac[CN_MAC_STR_MAX];
            cn_mac_format(link->mac, mac);
            cn_cli_error("[link %s %s] pool: machine %s holds no TAP of pool %s (carthage-net pool "
                         "acquire %s --machine %s --mac %s)", machine->name, link->iface,
                         machine->name, link->pool->name, link->pool->name, machine->name, mac);
            *exit_code = CN_EXIT_BUSY;
            return NULL;
        }
        g_hash_table_insert(taps, (gpointer)link, g_strdup(tap->tap));
    }
    return g_steal_pointer(&taps);
}

/* Selected networks: NAMES, or every network when there are none. */
GPtrArray *cn_cli_select_networks(CnSite *site, char **names, int n_names)
{
    GPtrArray *selected = g_ptr_array_new();
    if (n_names == 0) {
        g_ptr_array_extend(selected, site->networks, NULL, NULL);
        return selected;
    }
    for (int i = 0; i < n_names; i++) {
        CnNetwork *net = cn_site_find_network(site, names[i]);
        if (!net) {
            cn_cli_error("unknown network '%s'", names[i]);
            g_ptr_array_unref(selected);
            return NULL;
        }
        g_ptr_array_add(selected, net);
    }
    return selected;
}

GPtrArray *cn_cli_take_ovn_networks(GPtrArray *networks)
{
    GPtrArray *ovn = g_ptr_array_new();
    for (guint i = 0; i < networks->len;) {
        if (cn_network_in_ovn(networks->pdata[i]))
            g_ptr_array_add(ovn, g_ptr_array_steal_index(networks, i));
        else
            i++;
    }
    return ovn;
}


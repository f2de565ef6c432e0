/* main.c - carthage-net: common options and the command table.
 *
 * Built twice.  carthage-net (CN_CLI_FRONT) links neither libvirt nor
 * libsoup: it runs the commands it has (pool, validate) and hands any
 * other, its command line unchanged, to carthage-net-full, built from this
 * same file with every command.  Loading libvirt's and libsoup's shared
 * objects cost each run about 30 ms, which `pool create` and a script's
 * `pool acquire` need not pay. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ovsdb-remote.h"
#include "glib-lean.h"
#include "paths.h"

#define DEFAULT_DEFS_DIR CN_PATHS_DEFINITIONS_DIR
#define DEFAULT_STATE_DIR CN_PATHS_STATE_DIR

/* FULL(run): a command only carthage-net-full runs (NULL in the front). */
#ifdef CN_CLI_FRONT
#define FULL(run) NULL
#else
#define FULL(run) run
#endif

static const CnCommand commands[] = {
    { "validate", "", "Check the definitions: exit 0 when valid, 1 with one line per error.",
      cn_cmd_validate },
    { "render", "", "Print libvirt network, interface or domain XML, or QEMU -netdev arguments.",
      FULL(cn_cmd_render) },
    { "define", "", "Define or update the libvirt networks through the libvirt API (idempotent).",
      FULL(cn_cmd_define) },
    { "undefine", "", "Stop and remove libvirt networks and what carthage-net made for them.",
      FULL(cn_cmd_undefine) },
    { "status", "", "Read-only: networks and anything out of step with the definitions (exit 5).",
      FULL(cn_cmd_status) },
    { "repair", "", "Bring host state back in step; --purge removes everything carthage-net made.",
      FULL(cn_cmd_repair) },
    { "attach", "", "Plug a machine's interfaces into its existing libvirt domain.", FULL(cn_cmd_attach) },
    { "pool", "", "TAP pool: create, list, acquire, release, dispose.", cn_cmd_pool },
    { "isolation", "", "nftables isolation: show, apply, remove, attach, detach.", FULL(cn_cmd_isolation) },
    { "events", "", "The event log (resolved, public_address, guest-attached, ...); --follow.",
      FULL(cn_cmd_events) },
    { "metadata", "", "The built-in metadata handler (serve) and what it answers a machine (show).",
      FULL(cn_cmd_metadata) },
};

static const CnCommand *find_command(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static void add_source(CnCli *cli, CnSourceKind kind, const char *path)
{
    char *copy = g_strdup(path);
    g_ptr_array_add(cli->source_paths, copy);
    CnSource source = { kind, copy };
    g_array_append_val(cli->sources, source);
}

static gboolean on_file_option(const char *name, const char *value, gpointer data, GError **error)
{
    add_source(data, CN_SOURCE_FILE, value);
    return TRUE;
}

static gboolean on_dir_option(const char *name, const char *value, gpointer data, GError **error)
{
    add_source(data, CN_SOURCE_DIR, value);
    return TRUE;
}

static char *commands_description(void)
{
    GString *text = g_string_new("Commands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        g_string_append_printf(text, "  %-10s %s\n", commands[i].name, commands[i].summary);
    g_string_append(text,
                    "\nDefinitions are read from -f FILE and -d DIR in the order given (default "
                    DEFAULT_DEFS_DIR ").\n"
                    "Exit codes: 0 success, 1 invalid input or unknown name, 2 usage, 3 busy or "
                    "exhausted,\n4 system or libvirt failure, 5 status found drift.\n"
                    "See carthage-net(1) and carthage-net.conf(5).\n");
    return g_string_free(text, FALSE);
}

/* --paths: the directories this run would use, the environment's
 * overrides applied, as KEY=VALUE lines (the hook's --paths names its own);
 * full_program: where the commands the front does not run go; template_dir
 * once per directory, in lookup order. */
static void print_paths(const char *state_dir)
{
    printf("state_dir=%s\nrun_dir=%s\nevents_dir=%s\nmetadata_dir=%s\nidentity_key=%s\nsocket_dir=%s\n"
           "full_program=%s\n",
           state_dir, cn_paths_run_dir(), cn_paths_events_dir(), cn_paths_metadata_dir(),
           cn_paths_identity_key(), cn_paths_socket_dir(), cn_paths_full_program());
    for (const char *const *dir = cn_paths_template_dirs(); *dir; dir++)
        printf("template_dir=%s\n", *dir);
}

/* Whether ARG is one of ENTRIES ("--long" or "-s") that takes a value, so
 * that the next argument is that value. */
static gboolean takes_separate_value(const GOptionEntry *entries, const char *arg)
{
    for (const GOptionEntry *entry = entries; entry->long_name; entry++) {
        gboolean named = (arg[1] == '-' && strcmp(arg + 2, entry->long_name) == 0) ||
                         (arg[1] == entry->short_name && arg[1] != '\0' && arg[2] == '\0');
        if (named)
            return entry->arg != G_OPTION_ARG_NONE && !(entry->flags & G_OPTION_FLAG_NO_ARG);
    }
    return FALSE;
}

/* Hands ARGV, unchanged, to carthage-net-full; returns only when it
 * cannot be run.  Never to this very program (a symbolic link or a
 * CARTHAGE_NET_FULL_PROGRAM naming carthage-net): it would exec itself
 * for ever. */
static int run_full_program(char **argv, const char *command)
{
    const char *full = cn_paths_full_program();
    struct stat target, self;
    if (stat(full, &target) == 0 && stat("/proc/self/exe", &self) == 0 && target.st_dev == self.st_dev &&
        target.st_ino == self.st_ino) {
        cn_cli_error("%s is carthage-net itself, not carthage-net-full (it runs '%s')", full, command);
        return CN_EXIT_SYSTEM;
    }
    execv(full, argv);
    cn_cli_error("%s: %s (carthage-net runs '%s' there: install carthage-net whole)", full, g_strerror(errno),
                 command);
    return CN_EXIT_SYSTEM;
}

int main(int argc, char **argv)
{
    CnCli cli = { 0 };
    gboolean version = FALSE, paths = FALSE;
    g_autofree char *uri = NULL;
    g_autofree char *ovn_nb = NULL;
    g_autofree char *state_dir = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *description = commands_description();

    setlocale(LC_ALL, "");
    /* The command line as given, for carthage-net-full (parsing the
     * options reorders ARGV). */
    g_autofree char **given = g_memdup2(argv, sizeof *argv * ((gsize)argc + 1));
    g_autoptr(GArray) sources = g_array_new(FALSE, FALSE, sizeof(CnSource));
    g_autoptr(GPtrArray) source_paths = g_ptr_array_new_with_free_func(g_free);
    cli.sources = sources;
    cli.source_paths = source_paths;

    const GOptionEntry entries[] = {
        { "file", 'f', 0, G_OPTION_ARG_CALLBACK, (gpointer)on_file_option,
          "Read definitions from FILE (repeatable, in order)", "FILE" },
        { "dir", 'd', 0, G_OPTION_ARG_CALLBACK, (gpointer)on_dir_option,
          "Read DIR/*.conf in name order (repeatable, in order)", "DIR" },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, "libvirt connection URI", "URI" },
        { "ovn-nb", 0, 0, G_OPTION_ARG_STRING, &ovn_nb,
          "OVN northbound database for technology = ovn networks (overrides ovn.northbound)", "REMOTE" },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
          "State directory (default " DEFAULT_STATE_DIR ")", "DIR" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &cli.json, "JSON output for listings", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
        { "paths", 0, 0, G_OPTION_ARG_NONE, &paths,
          "Print the directories in use (templates in lookup order) and exit", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) context = g_option_context_new("COMMAND [ARGUMENT…]");
    GOptionGroup *main_group = g_option_group_new(NULL, NULL, NULL, &cli, NULL);
    g_option_group_add_entries(main_group, entries);
    g_option_context_set_main_group(context, main_group);
    g_option_context_set_summary(context, "Carthage networks on libvirt: render, define, isolate.");
    g_option_context_set_description(context, description);
    /* Common options may follow the command words; the command's own
     * options are parsed by the command. */
    g_option_context_set_ignore_unknown_options(context, TRUE);
    g_option_context_set_help_enabled(context, TRUE);

    /* The command word: the first argument that is neither an option nor
     * the value of a common option given apart ("-f FILE", "--dir DIR"). */
    int command_index = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            command_index = i;
            break;
        }
        if (takes_separate_value(entries, argv[i]))
            i++;
    }
    if (command_index) {
        const CnCommand *named = find_command(argv[command_index]);
        if (named && !named->run)
            return run_full_program(argv, named->name);
    }
    /* A lone "--help" after a command word is the command's help. */
    gboolean command_help = FALSE;
    for (int i = command_index + 1; command_index && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            command_help = TRUE;
            break;
        }
    }
    if (command_help)
        g_option_context_set_help_enabled(context, FALSE);

    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        cn_cli_error("%s (see 'carthage-net --help')", error->message);
        return CN_EXIT_USAGE;
    }
    if (version) {
        printf("carthage-net %s\n", PACKAGE_VERSION);
        return CN_EXIT_OK;
    }
    if (paths) {
        print_paths(state_dir ? state_dir : cn_paths_state_dir());
        return CN_EXIT_OK;
    }
    if (argc < 2) {
        cn_cli_error("no command given (see 'carthage-net --help')");
        return CN_EXIT_USAGE;
    }
    const CnCommand *command = find_command(argv[1]);
    if (!command) {
        cn_cli_error("unknown command '%s' (see 'carthage-net --help')", argv[1]);
        return CN_EXIT_USAGE;
    }
    if (cli.sources->len == 0)
        add_source(&cli, CN_SOURCE_DIR, DEFAULT_DEFS_DIR);
    cli.uri = uri;
    if (ovn_nb && !cn_ovsdb_remote_is_valid(ovn_nb)) {
        cn_cli_error("--ovn-nb: '%s' is not an OVSDB remote: unix:PATH, tcp:HOST[:PORT] or ssl:HOST[:PORT]", ovn_nb);
        return CN_EXIT_USAGE;
    }
    cli.ovn_nb = ovn_nb;
    cli.state_dir = state_dir ? state_dir : (char *)cn_paths_state_dir();

    /* Should the word found before the options were parsed differ. */
    if (!command->run)
        return run_full_program(given, command->name);
    return command->run(&cli, argc - 1, argv + 1);
}

/* cli.h - what the carthage-net commands share.
 *
 * main.c parses the common options and dispatches on the command word;
 * each cmd-*.c implements one command group over the library.  Commands
 * return an exit code from the contract (CN_EXIT_*).  Two programs are
 * built from them: carthage-net, the front, with the commands that need
 * neither libvirt nor libsoup (this header's), and carthage-net-full with
 * all of them (cli-full.h adds what those need).
 */
#pragma once

#include "alloc.h"
#include "defs.h"
#include "pool-state.h"
#include "state.h"

enum {
    CN_EXIT_OK = 0,
    CN_EXIT_INVALID = 1, /* invalid input or unknown name; nothing changed */
    CN_EXIT_USAGE = 2,
    CN_EXIT_BUSY = 3,    /* resource exhausted or busy */
    CN_EXIT_SYSTEM = 4,  /* system or libvirt failure */
    CN_EXIT_DRIFT = 5,   /* status found drift */
};

typedef struct {
    GArray *sources;  /* CnSource; paths owned by source_paths */
    GPtrArray *source_paths;
    char *uri;
    char *ovn_nb; /* --ovn-nb, NULL: each network's ovn.northbound */
    char *state_dir;
    gboolean json;
} CnCli;

typedef struct {
    const char *name;
    const char *synopsis;
    const char *summary;
    int (*run)(CnCli *cli, int argc, char **argv);
} CnCommand;

/* Prints "carthage-net: MESSAGE" on stderr. */
void cn_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);
void cn_cli_warning(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Parses a command's own options out of ARGV (ARGV[0] is the command
 * word); returns FALSE after printing a usage error.  ENTRIES may be NULL. */
gboolean cn_cli_parse_options(const CnCommand *command, const GOptionEntry *entries, int *argc,
                              char ***argv);

/* Loads and validates the definitions, then allocates pool addresses from
 * the state directory.  SAVE: record new assignments (under the lock);
 * without a writable state directory the allocation is still made, only
 * not saved.  On error prints the diagnostics, sets *EXIT_CODE and
 * returns NULL. */
CnSite *cn_cli_load_site(CnCli *cli, gboolean save, int *exit_code);

/* Reads the pool state file of POOL; *OUT is NULL when none exists yet.
 * FALSE (with *EXIT_CODE set and a message printed) on a read or format
 * error. */
gboolean cn_cli_read_pool_state(CnState *state, const char *pool, CnPoolState **out,
                                int *exit_code);

/* The TAPs MACHINE holds for its pool links (ONLY: just that link), as
 * CnLink* -> TAP name.  Exit 3 (BUSY) when a pool link holds none. */
GHashTable *cn_cli_held_taps(CnCli *cli, const CnMachine *machine, const CnLink *only,
                             int *exit_code);

/* The errors of the operations (src/ops, and the modules below them),
 * mapped to exit codes in one place: prints "carthage-net: MESSAGE" and
 * returns the code (CN_OPS_ERROR's own, else CN_EXIT_SYSTEM). */
int cn_cli_fail(const GError *error);
/* Prints an operation's report, a line each, on stdout. */
void cn_cli_print_report(GPtrArray *report);

/* NAMES, or every network when there are none; NULL (after saying which)
 * when a name is unknown. */
GPtrArray *cn_cli_select_networks(CnSite *site, char **names, int n_names);
/* The technology = ovn networks of NETWORKS, taken out of it. */
GPtrArray *cn_cli_take_ovn_networks(GPtrArray *networks);

int cn_cmd_validate(CnCli *cli, int argc, char **argv);
int cn_cmd_render(CnCli *cli, int argc, char **argv);
int cn_cmd_define(CnCli *cli, int argc, char **argv);
int cn_cmd_undefine(CnCli *cli, int argc, char **argv);
int cn_cmd_status(CnCli *cli, int argc, char **argv);
int cn_cmd_repair(CnCli *cli, int argc, char **argv);
int cn_cmd_attach(CnCli *cli, int argc, char **argv);
int cn_cmd_pool(CnCli *cli, int argc, char **argv);
int cn_cmd_isolation(CnCli *cli, int argc, char **argv);
int cn_cmd_events(CnCli *cli, int argc, char **argv);
int cn_cmd_metadata(CnCli *cli, int argc, char **argv);

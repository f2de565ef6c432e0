/* cmd-validate.c - carthage-net validate */
#include <stdio.h>

#include "cli.h"

int cn_cmd_validate(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = { "validate", "", "Check the definitions.", NULL };
    int exit_code = CN_EXIT_OK;

    if (!cn_cli_parse_options(&self, NULL, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc > 1) {
        cn_cli_error("validate: takes no arguments (got '%s')", argv[1]);
        return CN_EXIT_USAGE;
    }
    /* Read-only: pool exhaustion is found, but nothing is recorded. */
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return exit_code;
    printf("valid: %u networks, %u machines, %u links, %u pools\n", site->networks->len,
           site->machines->len, site->links->len, site->pools->len);
    return CN_EXIT_OK;
}

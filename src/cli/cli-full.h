/* cli-full.h - what the commands of carthage-net-full share beyond
 * cli.h: templates, NoCloud seeds, the libvirt connection and the
 * metadata connector. */
#pragma once

#include <libxml/tree.h>

#include "cli.h"

/* An xml-templates/ document; prints the error and sets *EXIT_CODE when
 * it cannot be had. */
xmlDocPtr cn_cli_load_template(const char *name, int *exit_code);

/* Adds MACHINE's NoCloud seed to DOMAIN (render.h), from its files in
 * DATA_DIR (their warnings printed). */
gboolean cn_cli_seed_domain(xmlDocPtr domain, const CnMachine *machine, const char *data_dir, GError **error);

typedef struct CnVirt CnVirt;
CnVirt *cn_cli_open_virt(CnCli *cli, int *exit_code);

/* This very program, for a command line QEMU runs (guestfwd cmd:): its
 * absolute path (carthage-net-full's: QEMU starts one per connection, and
 * so starts it without the front's exec), or NULL with ERROR when QEMU's
 * option syntax or the shell would take the path apart. */
char *cn_cli_connector(GError **error);

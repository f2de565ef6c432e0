/* fuzz-hook-xml.c - libFuzzer target: the hook's stdin (network hookData
 * or domain XML), as libvirt hands it over for every event, read whole
 * and (port-created, port-deleted) for its port alone. */
/* fuzz-extra: hooks/hook-xml.c src/nft/nft-isolation.c src/nft/nft-batch.c src/nft/nft-expr.c */
/* fuzz-pkgs: libnftnl libmnl */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int occurrences(const uint8_t *data, size_t size, const char *needle)
{
    size_t length = strlen(needle);
    int count = 0;
    for (size_t i = 0; i + length <= size; i++)
        count += memcmp(data + i, needle, length) == 0;
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *error = NULL;
    HookInput *input = hook_input_parse((const char *)data, size, &error);
    if (!input) {
        if (!error) {
            fprintf(stderr, "refused without an error\n");
            abort();
        }
        g_error_free(error);
        return 0;
    }
    /* What the handlers then read must be consistent. */
    if (input->has_network && (!input->network.name || (input->network.ours && !input->network.iso)))
        abort();
    for (guint i = 0; i < input->domain.interfaces->len; i++) {
        const HookInterface *iface = input->domain.interfaces->pdata[i];
        if (iface->has_mac)
            (void)hook_domain_link(&input->domain, iface->mac);
    }
    /* The port alone (port-created with a record) is what the whole XML
     * says of it, when the XML ends with one (and has one: of two ports
     * the whole reading keeps the first's MAC if the second has none). */
    HookInput *port = hook_input_parse_port((const char *)data, size, &error);
    if (port && input->port.present && occurrences(data, size, "<networkport") == 1 &&
        (g_strcmp0(port->port.owner, input->port.owner) != 0 || port->port.has_mac != input->port.has_mac ||
         (port->port.has_mac && memcmp(port->port.mac, input->port.mac, 6) != 0))) {
        fprintf(stderr, "the port read alone differs from the port read whole\n");
        abort();
    }
    g_clear_error(&error);
    if (port)
        hook_input_free(port);
    hook_input_free(input);
    return 0;
}

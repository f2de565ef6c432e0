/* fuzz-ovsdb-reply.c - libFuzzer target: what the northbound database
 * sends back.  The bytes go through the stream framer (fed in pieces, as
 * a socket would), each message through json-glib and the transact reply
 * reader; a reply that reads as a snapshot is planned against a small
 * site, so the planner meets hostile databases too. */
/* fuzz-extra: src/ovn/ovsdb-stream.c src/ovn/ovsdb-json.c src/ovn/ovsdb-client.c src/ovn/ovn-nb.c src/ovn/ovn-plan.c src/ovn/ovn-plan-router.c */
/* fuzz-pkgs: json-glib-1.0 gio-2.0 */
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "ovn-nb.h"
#include "ovn-plan.h"
#include "ovsdb-client.h"
#include "ovsdb-stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char site_text[] =
    "[network lab]\ntechnology = ovn\nv4.network = 10.90.0.0/24\nv4.pool = 10.90.0.100-10.90.0.103\n"
    "v4.masquerade = true\nisolate_guests = true\novn.uplink = outside\novn.uplink_address = 192.0.2.10/24\n"
    "ovn.uplink_gateway = 192.0.2.1\novn.gateway_chassis = hv1;hv2\n"
    "[link web eth0]\nnet = lab\nv4.address = 10.90.0.10\ndns_name = web.lab\nv4.public_address = 192.0.2.20\n"
    "v4.secondary_addresses = 10.90.0.11=192.0.2.21\n"
    "[link db eth0]\nnet = lab\ndns_name = db.lab\n";

static CnSite *site_once(void)
{
    static CnSite *site;
    if (!site) {
        g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
        CnDiagList *diags = cn_diag_list_new();
        cn_raw_defs_parse(raw, "fuzz.conf", site_text, strlen(site_text), diags);
        site = cn_defs_build(raw, diags);
        cn_alloc_macs(site);
        cn_defs_validate(site, diags);
        cn_diag_list_free(diags);
    }
    return site;
}

static void take(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text, -1, NULL))
        return;
    static guint selects;
    if (!selects) {
        g_autoptr(GPtrArray) ops = cn_nb_snapshot_ops();
        selects = ops->len;
    }
    g_autoptr(JsonArray) results = cn_ovsdb_parse_transact_reply(json_parser_get_root(parser), selects, NULL);
    if (!results)
        return;
    g_autoptr(CnNbSnapshot) nb = cn_nb_snapshot_parse(results, NULL);
    if (!nb)
        return;
    CnSite *site = site_once();
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, "fuzz", NULL);
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)cn_ovn_change_free);
    cn_ovn_extra_switches(site, nb, changes);
    g_autoptr(CnOvnPlan) removal = cn_ovn_plan_removal("lab", nb, NULL, NULL);
    g_autoptr(CnOvnPlan) purge = cn_ovn_plan_purge(nb, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte: how many bytes each read brings (1-256). */
    size_t piece = (size_t)data[0] + 1;
    g_autoptr(CnOvsdbFramer) framer = cn_ovsdb_framer_new(64 * 1024);
    for (size_t at = 1; at < size; at += piece) {
        size_t n = MIN(piece, size - at);
        cn_ovsdb_framer_feed(framer, (const char *)data + at, n);
        for (;;) {
            g_autoptr(GError) error = NULL;
            g_autofree char *message = cn_ovsdb_framer_next(framer, &error);
            if (!message)
                break;
            take(message);
        }
    }
    return 0;
}

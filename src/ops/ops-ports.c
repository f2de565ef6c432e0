/* ops-ports.c - see ops-ports.h */
#include "ops-ports.h"
#include "state.h"

gboolean cn_ports_load(const char *run_dir, const char *domain, GPtrArray **ports, GError **error)
{
    g_autofree char *name = cn_hook_ports_file_name(domain);
    *ports = NULL;
    if (!cn_runtime_load(run_dir, name, (CnStateParser)cn_hook_ports_parse, (gpointer *)ports, error))
        return FALSE;
    if (!*ports)
        *ports = cn_hook_ports_new();
    return TRUE;
}

gboolean cn_ports_save(const char *run_dir, const char *domain, GPtrArray *ports, GError **error)
{
    g_autofree char *name = cn_hook_ports_file_name(domain);
    if (ports->len == 0)
        return cn_runtime_remove(run_dir, name, error);
    g_autofree char *text = cn_hook_ports_format(ports);
    return cn_runtime_write(run_dir, name, text, error);
}

CnPortResult cn_ports_attach(const char *run_dir, const char *domain, GPtrArray *ports, const char *network,
                             const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error)
{
    cn_hook_ports_add(ports, network, guest->tap, guest->mac, guest->rendered, guest->addresses, guest->addresses6);
    if (!cn_ports_save(run_dir, domain, ports, error)) {
        g_ptr_array_remove_index(ports, ports->len - 1);
        return CN_PORT_NOT_RECORDED;
    }
    if (cn_nft_guest_add(net, guest, error))
        return CN_PORT_ATTACHED;
    /* Not isolated: not recorded either (the record is what stopped and
     * repair act on). */
    g_ptr_array_remove_index(ports, ports->len - 1);
    g_autoptr(GError) local = NULL;
    if (!cn_ports_save(run_dir, domain, ports, &local))
        g_prefix_error(error, "(and the record could not be written back: %s) ", local->message);
    return CN_PORT_NOT_ISOLATED;
}

gboolean cn_ports_detach_domain(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                                GError **error)
{
    if (!cn_ports_load(run_dir, domain, detached, error))
        return FALSE;
    for (guint i = 0; i < (*detached)->len; i++) {
        const CnHookPort *port = (*detached)->pdata[i];
        g_autoptr(CnIsoNetwork) net = cn_iso_network_new(port->network, "");
        g_autoptr(CnIsoGuest) guest = cn_iso_guest_new(port->tap, port->mac);
        g_array_append_vals(guest->addresses6, port->addresses6->data, port->addresses6->len);
        g_autoptr(GError) local = NULL;
        /* A network already stopped took its tables, and our elements,
         * with it. */
        if (!cn_nft_guest_remove(net, guest, &local))
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: %s", port->network, port->tap, local->message));
        else
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: released", port->network, port->tap));
    }
    g_autofree char *name = cn_hook_ports_file_name(domain);
    return cn_runtime_remove(run_dir, name, error);
}

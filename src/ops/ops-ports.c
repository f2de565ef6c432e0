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

void cn_ports_attach_many(const char *run_dir, const char *domain, GPtrArray *ports, GPtrArray *attaches,
                          CnPortResult *results, GError **errors)
{
    if (attaches->len == 0)
        return; /* nothing to record, nor a record to drop */
    guint first = ports->len;
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        const CnIsoGuest *guest = attach->guest;
        cn_hook_ports_add(ports, attach->network, guest->tap, guest->mac, guest->rendered, guest->addresses,
                          guest->addresses6);
    }
    g_autoptr(GError) local = NULL;
    if (!cn_ports_save(run_dir, domain, ports, &local)) {
        g_ptr_array_remove_range(ports, first, ports->len - first);
        for (guint i = 0; i < attaches->len; i++) {
            results[i] = CN_PORT_NOT_RECORDED;
            errors[i] = g_error_copy(local);
        }
        return;
    }
    /* All in one batch; when the kernel refuses it (which changes
     * nothing), port by port, to tell which one and why. */
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        g_ptr_array_add(nets, (gpointer)attach->net);
        g_ptr_array_add(guests, (gpointer)attach->guest);
        results[i] = CN_PORT_ATTACHED;
        errors[i] = NULL;
    }
    if (cn_nft_guests_add(nets, guests, NULL))
        return;
    gboolean refused = FALSE;
    for (guint i = 0; i < attaches->len; i++) {
        const CnPortAttach *attach = attaches->pdata[i];
        if (cn_nft_guest_add(attach->net, attach->guest, &errors[i]))
            continue;
        results[i] = CN_PORT_NOT_ISOLATED;
        refused = TRUE;
    }
    if (!refused)
        return;
    /* Not isolated: not recorded either (the record is what stopped and
     * repair act on).  Taken out from the last, so indexes hold. */
    for (guint i = attaches->len; i-- > 0;) {
        if (results[i] == CN_PORT_NOT_ISOLATED)
            g_ptr_array_remove_index(ports, first + i);
    }
    g_clear_error(&local);
    if (!cn_ports_save(run_dir, domain, ports, &local)) {
        for (guint i = 0; i < attaches->len; i++) {
            if (results[i] == CN_PORT_NOT_ISOLATED)
                g_prefix_error(&errors[i], "(and the record could not be written back: %s) ", local->message);
        }
    }
}

gboolean cn_ports_detach_domain(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                                GError **error)
{
    if (!cn_ports_load(run_dir, domain, detached, error))
        return FALSE;
    g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_network_free);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    for (guint i = 0; i < (*detached)->len; i++) {
        const CnHookPort *port = (*detached)->pdata[i];
        CnIsoGuest *guest = cn_iso_guest_new(port->tap, port->mac);
        g_array_append_vals(guest->addresses6, port->addresses6->data, port->addresses6->len);
        g_ptr_array_add(nets, cn_iso_network_new(port->network, ""));
        g_ptr_array_add(guests, guest);
    }
    /* All in one batch; when that fails (a network already stopped took
     * its tables, and our elements, with it), port by port. */
    gboolean together = guests->len > 0 && cn_nft_guests_remove(nets, guests, NULL);
    for (guint i = 0; i < (*detached)->len; i++) {
        const CnHookPort *port = (*detached)->pdata[i];
        g_autoptr(GError) local = NULL;
        if (together || cn_nft_guest_remove(nets->pdata[i], guests->pdata[i], &local))
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: released", port->network, port->tap));
        else
            g_ptr_array_add(report, g_strdup_printf("network %s port %s: %s", port->network, port->tap, local->message));
    }
    g_autofree char *name = cn_hook_ports_file_name(domain);
    return cn_runtime_remove(run_dir, name, error);
}

/* render-netdev.c - QEMU command-line arguments for a pool TAP. */
#include <string.h>

#include "netaddr.h"
#include "render.h"

const char *cn_qemu_nic_driver(const char *model)
{
    static const struct {
        const char *libvirt;
        const char *qemu;
    } drivers[] = {
        { "virtio", "virtio-net-pci" },
        { "virtio-transitional", "virtio-net-pci-transitional" },
        { "virtio-non-transitional", "virtio-net-pci-non-transitional" },
        { "ne2k_pci", "ne2k_pci" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(drivers); i++) {
        if (strcmp(drivers[i].libvirt, model) == 0)
            return drivers[i].qemu;
    }
    return model; /* e1000, e1000e, rtl8139, vmxnet3: the same name in QEMU */
}

char *cn_render_netdev(const CnLink *link, const char *tap)
{
    char mac[CN_MAC_STR_MAX];
    GString *out = g_string_new(NULL);
    uint32_t mtu = cn_link_effective_mtu(link);

    cn_mac_format(link->mac, mac);
    /* Interface names are [A-Za-z0-9_.-] (netaddr.h), valid in QEMU ids
     * once prefixed with a letter, and never contain a ','. */
    g_string_append_printf(out, "-netdev tap,id=cn-%s,ifname=%s,script=no,downscript=no", link->iface,
                           tap);
    g_string_append_printf(out, " -device %s,netdev=cn-%s,mac=%s", cn_qemu_nic_driver(link->model),
                           link->iface, mac);
    if (mtu && g_str_has_prefix(cn_qemu_nic_driver(link->model), "virtio-net"))
        g_string_append_printf(out, ",host_mtu=%u", mtu);
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

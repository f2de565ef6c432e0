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

/* "DRIVER,netdev=cn-IFACE,mac=MAC[,host_mtu=N]" */
char *cn_render_device_option(const CnLink *link)
{
    char mac[CN_MAC_STR_MAX];
    uint32_t mtu = cn_link_effective_mtu(link);
    const char *driver = cn_qemu_nic_driver(link->model);

    cn_mac_format(link->mac, mac);
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "%s,netdev=cn-%s,mac=%s", driver, link->iface, mac);
    if (mtu && g_str_has_prefix(driver, "virtio-net"))
        g_string_append_printf(out, ",host_mtu=%u", mtu);
    return g_string_free(out, FALSE);
}

static void append_device(GString *out, const CnLink *link)
{
    g_autofree char *device = cn_render_device_option(link);
    g_string_append_printf(out, " -device %s\n", device);
}

char *cn_render_netdev(const CnLink *link, const char *tap)
{
    GString *out = g_string_new(NULL);
    /* Interface names are [A-Za-z0-9_.-] (netaddr.h), valid in QEMU ids
     * once prefixed with a letter, and never contain a ','. */
    g_string_append_printf(out, "-netdev tap,id=cn-%s,ifname=%s,script=no,downscript=no", link->iface,
                           tap);
    append_device(out, link);
    return g_string_free(out, FALSE);
}

char *cn_render_user_netdev_option(const CnLink *link, const char *connector, const char *socket_dir,
                                   GError **error)
{
    GString *out = g_string_new(NULL);
    const CnNetwork *net = link->net;

    g_string_append_printf(out, "user,id=cn-%s,net=" CN_USER_NET ",dhcpstart=" CN_USER_GUEST, link->iface);
    if (net && net->metadata) {
        char address[CN_V4_STR_MAX];
        g_autofree char *path = cn_user_socket_path(socket_dir, link->machine_name, error);
        if (!path) {
            g_string_free(out, TRUE);
            return NULL;
        }
        cn_v4_format(net->metadata_address, address);
        /* cmd:, one connector per connection: QEMU's chardev form carries
         * all of a guest's connections to the address in one stream and
         * answers only the oldest (docs/tap-pool.md). */
        g_string_append_printf(out, ",guestfwd=tcp:%s:%u-cmd:%s metadata connect %s", address, net->metadata_port,
                               connector, path);
    }
    return g_string_free(out, FALSE);
}

char *cn_render_netdev_user(const CnLink *link, const char *connector, const char *socket_dir, GError **error)
{
    g_autofree char *netdev = cn_render_user_netdev_option(link, connector, socket_dir, error);
    if (!netdev)
        return NULL;
    GString *out = g_string_new(NULL);
    /* Quoted for a shell: the connector's command has spaces. */
    g_string_append_printf(out, "-netdev '%s'", netdev);
    append_device(out, link);
    return g_string_free(out, FALSE);
}

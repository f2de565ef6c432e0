/* ops-ovn-metadata.c - an OVN network's metadata service on this chassis. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "link.h"
#include "ops-ovn-metadata.h"
#include "ovn-plan.h"
#include "ovs-port.h"

void cn_ovn_metadata_link_name(const char *network, char out[16])
{
    g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, network, -1);
    g_snprintf(out, 16, "cnmd%.10s", digest);
}

static void end_clear(CnOvnMetadataEnd *end)
{
    if (end->claim >= 0)
        close(end->claim);
    end->claim = -1;
    g_clear_pointer(&end->ovs_remote, g_free);
    g_clear_pointer(&end->bridge, g_free);
}

/* One end of a network per host: a second server would take the first
 * one's link and port away.  The claim is an abstract socket name, so it
 * goes with its process, however that ends. */
static int claim_end(const char *network, GError **error)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_SYSTEM, "socket: %s", g_strerror(errno));
        return -1;
    }
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    int length = g_snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "carthage-net/ovn-metadata/%s",
                            network);
    if (bind(fd, (struct sockaddr *)&address, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length)) < 0) {
        int saved = errno;
        close(fd);
        if (saved == EADDRINUSE)
            g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_BUSY,
                        "another carthage-net metadata serve --ovn %s runs on this host", network);
        else
            g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_SYSTEM, "cannot claim the end: %s", g_strerror(saved));
        return -1;
    }
    return fd;
}

gboolean cn_ops_ovn_metadata_attach(const CnNetwork *net, const char *ovs_remote, CnOvnMetadataEnd *end,
                                    GError **error)
{
    end->claim = claim_end(net->name, error);
    if (end->claim < 0) {
        g_prefix_error(error, "network %s: metadata: ", net->name);
        return FALSE;
    }
    char peer[16];
    cn_ovn_metadata_link_name(net->name, end->host_name);
    g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, net->name, -1);
    g_snprintf(peer, sizeof peer, "cnmp%.10s", digest);
    end->ovs_remote = g_strdup(ovs_remote ? ovs_remote : CN_OVS_DB_DEFAULT);
    end->bridge = g_strdup(net->bridge_name);
    CnVethSpec spec = {
        .host_name = end->host_name, .peer_name = peer,
        .address = net->metadata_address, .prefix = 32,
        .route_network = net->v4_subnet.network, .route_prefix = net->v4_subnet.prefix,
    };
    cn_ovn_metadata_mac(net->name, spec.peer_mac);
    /* A port left by a run that was killed goes first, in a transaction
     * of its own: Open vSwitch would keep it bound to the old link if it
     * saw a port of the same name go and come back in one. */
    if (!cn_ovs_port_remove(end->ovs_remote, end->bridge, end->host_name, error)) {
        g_prefix_error(error, "network %s: metadata: ", net->name);
        end_clear(end);
        return FALSE;
    }
    if (!cn_link_veth_netns_new(&spec, &end->host_netns, error)) {
        g_prefix_error(error, "network %s: metadata: ", net->name);
        end_clear(end);
        return FALSE;
    }
    /* Open vSwitch is in the host's namespace. */
    g_autofree char *iface_id = cn_ovn_metadata_port_name(net->name);
    int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    gboolean added = FALSE;
    gboolean ok = here >= 0 && cn_link_netns_enter(end->host_netns, error) &&
                  (added = cn_ovs_port_add(end->ovs_remote, end->bridge, end->host_name, iface_id, error)) &&
                  cn_link_netns_enter(here, error);
    if (here >= 0)
        close(here);
    if (ok)
        return TRUE;
    if (here < 0)
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_SYSTEM, "cannot open the new network namespace: %s",
                    g_strerror(errno));
    if (added)
        cn_ovs_port_remove(end->ovs_remote, end->bridge, end->host_name, NULL);
    g_prefix_error(error, "network %s: metadata: ", net->name);
    cn_link_netns_enter(end->host_netns, NULL);
    cn_link_delete(end->host_name, NULL);
    close(end->host_netns);
    end->host_netns = -1;
    end_clear(end);
    return FALSE;
}

gboolean cn_ops_ovn_metadata_leave(CnOvnMetadataEnd *end, GError **error)
{
    return cn_link_netns_enter(end->host_netns, error);
}

gboolean cn_ops_ovn_metadata_detach(CnOvnMetadataEnd *end, GError **error)
{
    if (end->host_netns < 0)
        return TRUE;
    gboolean ok = cn_ovs_port_remove(end->ovs_remote, end->bridge, end->host_name, error) &&
                  cn_link_delete(end->host_name, error);
    close(end->host_netns);
    end->host_netns = -1;
    end_clear(end);
    return ok;
}

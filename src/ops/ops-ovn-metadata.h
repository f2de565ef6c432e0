/* ops-ovn-metadata.h - the metadata service of an OVN network on this
 * chassis: the network's metadata localport (written by define) bound
 * here to a veth whose other end, with metadata.address and the MAC of
 * the localport, is alone in a network namespace of its own, where
 * carthage-net metadata serve --ovn listens.  OVN delivers a localport's
 * traffic only on the chassis it came from, and its port security lets
 * each guest send only from its own MAC and address: the source address
 * names the guest. */
#pragma once

#include "model.h"
#include "ops-ovn.h"

typedef struct {
    int host_netns;  /* the namespace to go back to; -1: not attached */
    int claim;       /* the host-wide claim on the network's end (a socket); -1: none */
    char host_name[16];
    char *ovs_remote, *bridge;
} CnOvnMetadataEnd;

/* The chassis end's link name for NETWORK ("cnmd" and a hash). */
void cn_ovn_metadata_link_name(const char *network, char out[16]);
/* Makes NET's end here and leaves the calling thread in its namespace:
 * listen there, then cn_ops_ovn_metadata_leave.  What a run killed before
 * left (the link, the Open vSwitch port) is replaced. */
gboolean cn_ops_ovn_metadata_attach(const CnNetwork *net, const char *ovs_remote, CnOvnMetadataEnd *end,
                                    GError **error);
gboolean cn_ops_ovn_metadata_leave(CnOvnMetadataEnd *end, GError **error);
/* Takes the end away: the Open vSwitch port, the link (its namespace goes
 * with the last socket in it). */
gboolean cn_ops_ovn_metadata_detach(CnOvnMetadataEnd *end, GError **error);

/* Whether the northbound database pins ADDRESS to LINK's port now: its
 * logical port (of LINK's network) has LINK's MAC and ADDRESS in its
 * port_security.  The metadata service asks it for each request, so that
 * what OVN enforces, not the definitions it read, says who calls.  One
 * connection, made again after a failure. */
typedef struct CnOvnPortCheck CnOvnPortCheck;
CnOvnPortCheck *cn_ovn_port_check_new(const CnNetwork *net, const CnOvnOptions *options);
void cn_ovn_port_check_free(CnOvnPortCheck *check);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnOvnPortCheck, cn_ovn_port_check_free)
gboolean cn_ovn_port_check(CnOvnPortCheck *check, const CnLink *link, uint32_t address, gboolean *pinned,
                           GError **error);

/* Gives the pool links of NETWORKS the addresses their ports have in the
 * northbound database (the fleet's truth); links without a port keep 0. */
gboolean cn_ops_ovn_pool_addresses(GPtrArray *networks, const CnOvnOptions *options, GError **error);

/* alloc.h - stable MAC and IPv4 pool allocation.
 *
 * MACs are a pure function of machine and interface names.  Pool
 * addresses are a function of the definitions and of the previous
 * assignments (kept in the state directory): a link keeps its address
 * while it stays valid, and new links take a free address starting at a
 * slot hashed from their names, so the result does not depend on file
 * order and, without saved state, is still the same on every run.
 */
#pragma once

#include "assignments.h"
#include "diag.h"

/* Gives every link without an explicit MAC its hashed one. */
void cn_alloc_macs(CnSite *site);
void cn_mac_for_link(const char *machine, const char *iface, uint8_t mac[6]);

/* The OVN logical switch port of a link: a UUID hashed from machine and
 * interface (libvirt's <virtualport> interfaceid must be a UUID), so that
 * every host names it alike and it stays when the link changes network. */
#define CN_UUID_STR_MAX 37
void cn_ovn_port_name(const char *machine, const char *iface, char out[CN_UUID_STR_MAX]);
/* The MAC OVN's DHCP server answers from on NETWORK (server_mac). */
void cn_ovn_dhcp_server_mac(const char *network, uint8_t mac[6]);
/* The MAC of NETWORK's metadata localport (and of its end on each chassis). */
void cn_ovn_metadata_mac(const char *network, uint8_t mac[6]);
/* The MAC of NETWORK's logical router on its uplink. */
void cn_ovn_uplink_mac(const char *network, uint8_t mac[6]);
/* The MAC a distributed 1:1 NAT of PUBLIC_ADDRESS answers with. */
void cn_ovn_nat_mac(const char *network, const char *public_address, uint8_t mac[6]);

/* Fills v4_address of every CN_V4_POOL link, keeping PREVIOUS where it
 * still fits, and returns the full new table.  Exhausted pools go to
 * DIAGS (and the links concerned keep address 0). */
CnAssignments *cn_alloc_v4(CnSite *site, const CnAssignments *previous, CnDiagList *diags);

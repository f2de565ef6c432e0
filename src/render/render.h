/* render.h - libvirt XML and QEMU arguments as pure functions of the model.
 *
 * Every renderer starts from a template document (xml-templates/) that the
 * caller loaded, copies it, and replaces the elements it owns; elements
 * the template adds and carthage-net does not own pass through untouched.
 * Nothing here does I/O.
 *
 * Pool links need the TAP their machine holds: callers pass a table
 * CnLink* -> TAP name (taps), filled from the pool state.
 */
#pragma once

#include <libxml/tree.h>

#include "model.h"
#include "xml-util.h"

/* <network> for `virsh net-define`. */
xmlDocPtr cn_render_network(const CnNetwork *net, xmlDocPtr network_template);

/* One <interface>, owned by DOC but not linked into it.  TAP: the pool TAP
 * for a pool link, else NULL. */
xmlNodePtr cn_render_interface(xmlDocPtr doc, const CnLink *link, const char *tap,
                               xmlDocPtr interface_template);

/* <devices> holding every interface of MACHINE (for attach-device). */
xmlDocPtr cn_render_devices(const CnMachine *machine, GHashTable *taps,
                            xmlDocPtr interface_template);

/* Merges MACHINE's interfaces into BASE (a <domain>): interfaces with the
 * same MAC are replaced where they stand, duplicates dropped, the rest
 * appended; carthage-net's <metadata> entry replaced.  Fails when BASE is
 * not a domain. */
gboolean cn_render_domain_merge(xmlDocPtr base, const CnMachine *machine, GHashTable *taps,
                                xmlDocPtr interface_template, GError **error);

/* The NoCloud seed for MACHINE in BASE (a <domain>), from its FILES (may
 * be NULL): SMBIOS serial "ds=nocloud;...", the documents as fw_cfg
 * entries, <os><smbios mode='sysinfo'/>; what was there of those replaced
 * (render-seed.c says what each is). */
struct CnMetadataFiles;
gboolean cn_render_domain_seed(xmlDocPtr base, const CnMachine *machine, const struct CnMetadataFiles *files,
                               GError **error);

/* carthage-net's data for the hook, kept in libvirt <metadata>. */
xmlNodePtr cn_render_network_metadata(xmlDocPtr doc, const CnNetwork *net);
xmlNodePtr cn_render_machine_metadata(xmlDocPtr doc, const CnMachine *machine, GHashTable *taps);

/* Replaces carthage-net's entry in OWNER's <metadata> (created when
 * missing) with ENTRY, keeping every other application's entries. */
void cn_render_replace_metadata(xmlNodePtr owner, xmlNodePtr entry);

/* "-netdev tap,... -device ...,mac=..." for plain QEMU on a pool TAP. */
char *cn_render_netdev(const CnLink *link, const char *tap);
/* Unprivileged QEMU (user-mode networking): a user network on
 * CN_USER_NET; on a metadata network, the metadata address forwarded by
 * guestfwd to SOCKET_DIR/MACHINE.sock, the machine's own UNIX socket,
 * through CONNECTOR ("PROGRAM metadata connect PATH", one per connection).
 * NULL with ERROR when the socket's path cannot be carried. */
char *cn_render_netdev_user(const CnLink *link, const char *connector, const char *socket_dir, GError **error);
/* Their parts, unquoted: the -netdev user,... value and the -device value. */
char *cn_render_user_netdev_option(const CnLink *link, const char *connector, const char *socket_dir,
                                   GError **error);
char *cn_render_device_option(const CnLink *link);
/* libvirt session mode (qemu:///session): BASE with MACHINE's links as
 * QEMU user-mode NICs in <qemu:commandline> (libvirt 9.0's <interface
 * type='user'> cannot carry guestfwd), replacing <interface>s with their
 * MACs and NICs rendered before, and carthage-net's metadata. */
gboolean cn_render_domain_merge_user(xmlDocPtr base, const CnMachine *machine, const char *connector,
                                     const char *socket_dir, GError **error);

/* The QEMU -device driver for a libvirt model name. */
const char *cn_qemu_nic_driver(const char *model);

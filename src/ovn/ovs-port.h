/* ovs-port.h - a port of this host's Open vSwitch (its Open_vSwitch
 * database, over OVSDB) bound to an OVN logical port: what ovn-controller
 * needs to see to bind a localport on this chassis.  Each change is one
 * transaction; cn_ovs_port_add replaces a port of the same name in its
 * own (callers that also remade the link remove the old port first, in a
 * transaction of its own: Open vSwitch keeps a port bound to the old
 * link when it sees one go and come back at once). */
#pragma once

#include <glib.h>

#define CN_OVS_DB_DEFAULT "unix:/var/run/openvswitch/db.sock"

/* Port and interface NAME on BRIDGE, external_ids:iface-id = IFACE_ID. */
gboolean cn_ovs_port_add(const char *remote, const char *bridge, const char *name, const char *iface_id,
                         GError **error);
/* Port NAME off BRIDGE; none there is not an error. */
gboolean cn_ovs_port_remove(const char *remote, const char *bridge, const char *name, GError **error);

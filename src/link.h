/* link.h - host links over rtnetlink (libnl): the bridges of technology
 * "bridge" networks.  TAP devices (pool) live in tap-pool.c.
 * Functions return FALSE with the kernel's message in ERROR. */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_LINK_ERROR (cn_link_error_quark())
GQuark cn_link_error_quark(void);

gboolean cn_link_exists(const char *name, gboolean *exists, GError **error);
/* Makes a Linux bridge NAME (up, with MTU when non-zero) unless a link of
 * that name exists; *CREATED says which. */
gboolean cn_link_bridge_ensure(const char *name, uint32_t mtu, gboolean *created, GError **error);
/* Deletes link NAME; one that does not exist is not an error. */
gboolean cn_link_delete(const char *name, GError **error);

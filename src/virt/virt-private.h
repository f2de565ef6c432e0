/* virt-private.h - what the virt-*.c files share, not for other modules. */
#pragma once

#include <libvirt/libvirt.h>

#include "virt.h"

virConnectPtr cn_virt_conn(CnVirt *virt);
/* Sets ERROR to "WHAT: <libvirt's last error>" and returns FALSE. */
gboolean cn_virt_fail(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

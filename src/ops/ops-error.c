/* ops-error.c - the operations' error domain, in the core library so that
 * the pure planners below the operations (src/ovn) can use it too. */
#include "ops.h"

G_DEFINE_QUARK(cn-ops-error-quark, cn_ops_error)

/* hook-events.c - the Carthage events the hook emits (see events.h). */
#include <syslog.h>

#include "events-notify.h"
#include "hook.h"
#include "netaddr.h"

void hook_emit(const HookEvent *event, CnEvent *cn_event)
{
    g_ptr_array_add(event->events, cn_event);
}

void hook_flush_events(const HookEvent *event)
{
    g_autoptr(GError) error = NULL;
    if (!cn_events_publish(event->state_dir, event->events_dir, event->events, &error))
        hook_log(event, LOG_WARNING, "%s", error->message);
    g_ptr_array_set_size(event->events, 0);
}

void hook_event_add_addresses(CnEvent *cn_event, const char *key, GArray *addresses)
{
    GString *json = g_string_new("[");
    for (guint i = 0; addresses && i < addresses->len; i++) {
        char text[CN_V4_STR_MAX];
        cn_v4_format(g_array_index(addresses, uint32_t, i), text);
        g_string_append_printf(json, "%s\"%s\"", i ? "," : "", text);
    }
    g_string_append_c(json, ']');
    cn_event_add_raw(cn_event, key, json->str);
    g_string_free(json, TRUE);
}

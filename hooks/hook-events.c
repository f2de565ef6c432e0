/* hook-events.c - the Carthage events the hook emits (see events.h). */
#include <syslog.h>

#include "events-notify.h"
#include "hook.h"

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

/* hook-log.c - the hook's messages: syslog, with the event's object,
 * name and operation (libvirt shows only stderr of events it heeds). */
#include <stdarg.h>
#include <syslog.h>

#include "hook.h"

void hook_log(const HookEvent *event, int priority, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    syslog(priority, "%s %s %s: %s", event->object, event->name, event->operation, text);
}

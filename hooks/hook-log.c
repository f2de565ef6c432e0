/* hook-log.c - the hook's messages: syslog, with the event's object,
 * name and operation (libvirt shows only stderr of events it heeds). */
#include <stdarg.h>
#include <syslog.h>
#include <unistd.h>

#include "hook.h"

/* Whether there is a syslog socket to send to.  Without one (no journald
 * or syslog daemon), syslog() tries to connect for every message, three
 * system calls to no end each time, and a domain's start logs a message
 * per port: looked at once. */
static gboolean syslog_socket_exists(void)
{
    static int exists = -1;
    if (exists < 0)
        exists = access(_PATH_LOG, W_OK) == 0;
    return exists;
}

void hook_log(const HookEvent *event, int priority, const char *format, ...)
{
    if (!syslog_socket_exists())
        return;
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    syslog(priority, "%s %s %s: %s", event->object, event->name, event->operation, text);
}

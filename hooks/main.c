/* main.c - carthage-net-hook: the libvirt hook dispatcher.
 *
 * Installed as <hooks>/network.d/carthage-net and <hooks>/qemu.d/carthage-net;
 * libvirt runs it as HOOK NAME OPERATION SUBOP EXTRA with XML on stdin.
 * Exit 0 unless aborting the libvirt operation is right; then one line on
 * stderr, which libvirt shows to the user.  Never calls libvirt, never
 * starts a child, touches only the state the event needs.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/mman.h>
#include <unistd.h>

#include "events-notify.h"
#include "hook.h"
#include "nft.h"
#include "glib-lean.h"
#include "paths.h"

#define STDIN_MAX (16 * 1024 * 1024) /* libvirt's XML is far smaller */
#define STDIN_RESERVED (STDIN_MAX + 1)  /* a byte more, to know it was passed */
#define STDIN_AHEAD (64 * 1024)         /* the least made present at once past the first page */
#define STDIN_AHEAD_MAX (1024 * 1024)   /* the most */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* stdin whole, read into a mapping reserved for the largest input: only
 * the pages the XML fills are touched, and those made present ahead of
 * it.  (A buffer that grows is copied at each doubling, and the pages of
 * every copy are faulted in: half again the XML's own for a network of a
 * thousand machines.)  The first page is read as it comes (a port's XML,
 * a small domain's); past it, the pages are made present ahead of the
 * reads, 64 KiB and then as much again as is read so far, at most 1 MiB,
 * one call each: a page fault apiece was 46 of them for the 186 KB of a
 * network of a thousand machines, about 10 µs each on a virtual machine.
 * A kernel that does not know MADV_POPULATE_WRITE faults them in as they
 * are read. */
static char *read_stdin(gsize *length, GError **error)
{
    char *text = mmap(NULL, STDIN_RESERVED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (text == MAP_FAILED) {
        g_set_error(error, HOOK_ERROR, 0, "cannot map memory for stdin: %s", g_strerror(errno));
        return NULL;
    }
    /* Where huge pages are always on, the first byte would clear 2 MiB. */
    madvise(text, STDIN_RESERVED, MADV_NOHUGEPAGE);
    gsize had = 0, present = (gsize)sysconf(_SC_PAGESIZE);
    for (;;) {
        if (had == present) {
            gsize ahead = MIN(CLAMP(present, STDIN_AHEAD, STDIN_AHEAD_MAX), STDIN_RESERVED - present);
            (void)madvise(text + present, ahead, MADV_POPULATE_WRITE);
            present += ahead;
        }
        ssize_t n = read(STDIN_FILENO, text + had, present - had);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (had += (gsize)n) > STDIN_MAX) {
            if (n < 0)
                g_set_error(error, HOOK_ERROR, 0, "cannot read stdin: %s", g_strerror(errno));
            else
                g_set_error(error, HOOK_ERROR, 0, "stdin larger than %d bytes", STDIN_MAX);
            munmap(text, STDIN_RESERVED);
            return NULL;
        }
    }
    *length = had;
    return text;
}

/* The heap's first pages, made present with one call before the program
 * allocates (GLib's constructor too, when GLib is linked in statically):
 * malloc's first extension of the heap is about 132 KiB, of which a qemu
 * start touches a dozen pages, each a page fault of about 10 µs on a
 * virtual machine, against one call for all 33.  Side by side in one
 * build (500 calls each, switched by the environment for the
 * measurement): start 0.19 ms less, 0.14 ms of CPU; stopped 0.09.  Only
 * when this first allocation is what moved the program break (not under
 * a sanitizer's allocator, nor after something else made the heap), and
 * the heap it made is small. */
#define HEAP_PRESENT_MAX (256 * 1024)
__attribute__((constructor(101))) static void heap_make_present(void)
{
    uintptr_t before = (uintptr_t)sbrk(0);
    void *first = malloc(1);
    uintptr_t at = (uintptr_t)first;
    uintptr_t end = (uintptr_t)sbrk(0);
    free(first);
    uintptr_t start = at & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    if (first && before <= at && at < end && end - start <= HEAP_PRESENT_MAX)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

typedef char StdinText;
static void stdin_text_free(StdinText *text)
{
    munmap(text, STDIN_RESERVED);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StdinText, stdin_text_free)

/* network or qemu: from the directory libvirt found the hook in. */
static const char *hook_object(const char *argv0)
{
    g_autofree char *dir = g_path_get_dirname(argv0);
    g_autofree char *base = g_path_get_basename(dir);
    if (strcmp(base, "network.d") == 0 || strcmp(base, "network") == 0)
        return "network";
    if (strcmp(base, "qemu.d") == 0 || strcmp(base, "qemu") == 0)
        return "qemu";
    return NULL;
}

/* Operations whose failure libvirt heeds and where aborting is right. */
static gboolean may_abort(const char *object, const char *operation)
{
    static const char *const network_ops[] = { "start", "started", "port-created", NULL };
    static const char *const qemu_ops[] = { "prepare", "start", "started", "reconnect", NULL };
    const char *const *ops = strcmp(object, "network") == 0 ? network_ops : qemu_ops;
    for (int i = 0; ops[i]; i++) {
        if (strcmp(ops[i], operation) == 0)
            return TRUE;
    }
    return FALSE;
}

/* A port's events need the port, and port-created the rest only when the
 * network has no record (hook-network.c): libvirt's XML of a network
 * grows with the machines it defines. */
static HookInput *parse_input(const HookEvent *event, GError **error)
{
    if (strcmp(event->object, "network") == 0 &&
        (strcmp(event->operation, "port-created") == 0 || strcmp(event->operation, "port-deleted") == 0)) {
        g_autoptr(GError) local = NULL;
        HookInput *port = hook_input_parse_port(event->text, event->length, &local);
        if (local) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        if (port)
            return port;
    }
    return hook_input_parse(event->text, event->length, error);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--paths") == 0) {
        printf("state_dir=%s\nrun_dir=%s\nevents_dir=%s\n", CN_PATHS_STATE_DIR, CN_PATHS_RUN_DIR,
               CN_PATHS_EVENTS_DIR);
        return 0;
    }
    openlog("carthage-net-hook", LOG_PID, LOG_DAEMON);
    const char *object = g_getenv("CARTHAGE_NET_HOOK_OBJECT");
    if (!object)
        object = hook_object(argv[0]);
    if (argc < 3 || !object) {
        fprintf(stderr, "carthage-net-hook: run by libvirt as <hooks>/{network,qemu}.d/carthage-net NAME "
                        "OPERATION SUBOP EXTRA\n");
        return 2;
    }
    /* libvirt passes no environment of ours; these are for tests. */
    HookEvent event = { object, argv[2], argv[1], cn_paths_state_dir(), cn_paths_run_dir(), cn_paths_events_dir(),
                        NULL, 0, NULL, NULL };

    g_autoptr(GError) error = NULL;
    g_autoptr(StdinText) text = read_stdin(&event.length, &error);
    event.text = text;
    g_autoptr(HookInput) input = text ? parse_input(&event, &error) : NULL;
    if (!input) {
        /* Unreadable input on an event that may abort: abort, since
         * nothing can be checked; elsewhere, say so and let libvirt go on. */
        hook_log(&event, LOG_ERR, "%s", error->message);
        if (may_abort(object, event.operation)) {
            fprintf(stderr, "carthage-net-hook: %s %s %s: %s\n", object, event.name, event.operation,
                    error->message);
            return 1;
        }
        return 0;
    }
    event.input = input;
    event.events = g_ptr_array_new_with_free_func((GDestroyNotify)cn_event_free);
    gboolean ok = strcmp(object, "network") == 0 ? hook_network_event(&event, &error)
                                                : hook_qemu_event(&event, &error);
    hook_flush_events(&event);
    g_ptr_array_unref(event.events);
    int status = 0;
    if (!ok) {
        hook_log(&event, LOG_ERR, "%s", error->message);
        if (may_abort(object, event.operation)) {
            fprintf(stderr, "%s\n", error->message);
            status = 1;
        }
    }
    /* Every change is committed by now; the kernel's cleanup after it is
     * left to a process of its own, so libvirt need not wait for it.
     * Last: it closes the standard streams. */
    cn_nft_close_detached();
    return status;
}

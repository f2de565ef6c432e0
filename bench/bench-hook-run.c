/* bench-hook-run.c - times whole processes: fork, exec, wait4, as libvirt
 * runs a hook.  bench-hook.sh builds it and runs it inside a network
 * namespace of its own; the shell's own cost is not in the times.
 *
 *   bench-hook-run CALLS SPEC [::: SPEC]...
 *   SPEC: LABEL STDIN [NAME=VALUE]... PROGRAM [ARG]...
 *
 * CALLS rounds; in each round every SPEC runs once, in the order given
 * (so "start ::: stopped" alternates, and a program and its baseline see
 * the same conditions).  Each call gets the file STDIN on its standard
 * input (from offset 0), its standard output on /dev/null, the driver's
 * stderr, and the driver's environment with the NAME=VALUE pairs set.
 * PROGRAM is a path (no PATH search).  The clock (CLOCK_MONOTONIC) runs
 * from just before fork() to just after wait4() returns: what libvirt
 * waits for.  The driver is a child subreaper: what a call leaves running
 * (the hook's detached closer, which waits out the kernel's cleanup after
 * a `stopped`) comes back to it, and it waits for all of it before the
 * next call, outside the clock, so that no call runs beside an earlier
 * one's leftovers.  BENCH_SETTLE_US (default 0 here; bench-hook.sh sets
 * 10000) then pauses, also outside the clock, for what the kernel does
 * after a call on its own: after a `stopped`, nf_tables' destroy work for
 * the released netfilter socket runs in a kworker after an RCU grace
 * period, and without the pause it sometimes ran beside the next two
 * calls (the empty program after `stopped` and the next `start`: a
 * millisecond or more each on this 2-CPU machine).
 *
 * Output, one line per SPEC on stdout:
 *   LABEL CALLS MEDIAN_US P99_US MAX_US MAX_RSS_KB CPU_MEDIAN_US FAULTS_MEDIAN
 *   DETACHED_MEDIAN_US
 * (median; nearest-rank 99th percentile; the largest ru_maxrss of any
 * call, wait4's rusage, in KB; the median of the call's user + system
 * time and of its minor page faults, from the same rusage: steadier than
 * the wall clock on a noisy machine; the median time from the call's exit
 * to the end of the last process it left behind: near 0 when none).
 * Exits 1 as soon as a call fails (exit status not 0, or a signal),
 * naming it; never because of the times. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    const char *label;
    const char *stdin_path;
    int stdin_fd;
    char **argv;
    char **envp;
    double *times;
    double *cpu_times;
    double *faults;
    double *detached;
    long max_rss;
} Spec;

static void die(const char *message, const char *what)
{
    fprintf(stderr, "bench-hook-run: %s%s%s\n", message, what ? ": " : "", what ? what : "");
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The driver's environment with NAME=VALUE pairs SET[0..N) put in. */
static char **make_env(char **set, int n)
{
    int count = 0;
    while (environ[count])
        count++;
    char **envp = calloc((size_t)(count + n + 1), sizeof *envp);
    if (!envp)
        die("out of memory", NULL);
    int len = 0;
    for (int i = 0; i < count; i++) {
        size_t name_len = strcspn(environ[i], "=");
        int overridden = 0;
        for (int j = 0; j < n; j++) {
            if (strncmp(set[j], environ[i], name_len) == 0 && set[j][name_len] == '=')
                overridden = 1;
        }
        if (!overridden)
            envp[len++] = environ[i];
    }
    for (int j = 0; j < n; j++)
        envp[len++] = set[j];
    envp[len] = NULL;
    return envp;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts VALUES[0..N) and returns their median. */
static double median_of(double *values, long n)
{
    qsort(values, (size_t)n, sizeof *values, compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        die("usage: bench-hook-run CALLS LABEL STDIN [NAME=VALUE]... PROGRAM [ARG]... [::: SPEC]...", NULL);
    char *end;
    errno = 0;
    long calls = strtol(argv[1], &end, 10);
    if (errno || *end || calls <= 0 || calls > 10000000)
        die("CALLS must be a positive number, not", argv[1]);

    Spec specs[64];
    int nspecs = 0;
    for (int i = 2; i < argc;) {
        int j = i;
        while (j < argc && strcmp(argv[j], ":::") != 0)
            j++;
        argv[j < argc ? j : argc] = NULL; /* ends this SPEC's argv */
        if (nspecs == (int)(sizeof specs / sizeof *specs))
            die("too many SPECs", NULL);
        if (j - i < 3)
            die("a SPEC is LABEL STDIN [NAME=VALUE]... PROGRAM [ARG]...", argv[i]);
        Spec *s = &specs[nspecs++];
        s->label = argv[i];
        s->stdin_path = argv[i + 1];
        s->stdin_fd = open(s->stdin_path, O_RDONLY | O_CLOEXEC);
        if (s->stdin_fd < 0)
            die(strerror(errno), s->stdin_path);
        int k = i + 2;
        while (k < j && strchr(argv[k], '=') && argv[k][0] != '/' && argv[k][0] != '.')
            k++;
        if (k == j)
            die("a SPEC without a PROGRAM", s->label);
        s->envp = make_env(&argv[i + 2], k - (i + 2));
        s->argv = &argv[k];
        s->times = calloc((size_t)calls, sizeof *s->times);
        s->cpu_times = calloc((size_t)calls, sizeof *s->cpu_times);
        s->faults = calloc((size_t)calls, sizeof *s->faults);
        s->detached = calloc((size_t)calls, sizeof *s->detached);
        if (!s->times || !s->cpu_times || !s->faults || !s->detached)
            die("out of memory", NULL);
        s->max_rss = 0;
        i = j + 1;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("cannot become a child subreaper", strerror(errno));
    const char *settle_text = getenv("BENCH_SETTLE_US");
    long settle_us = settle_text ? strtol(settle_text, &end, 10) : 0;
    if (settle_text && (*end || settle_us < 0 || settle_us > 999999))
        die("BENCH_SETTLE_US must be 0 to 999999, not", settle_text);
    const struct timespec settle_each = { 0, settle_us * 1000 };
    struct timespec settle = settle_each;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0)
        die(strerror(errno), "/dev/null");

    for (long call = 0; call < calls; call++) {
        for (int i = 0; i < nspecs; i++) {
            Spec *s = &specs[i];
            if (lseek(s->stdin_fd, 0, SEEK_SET) < 0)
                die(strerror(errno), s->stdin_path);
            double t0 = now_us();
            pid_t pid = fork();
            if (pid < 0)
                die("fork", strerror(errno));
            if (pid == 0) {
                if (dup2(s->stdin_fd, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0)
                    _exit(126);
                execve(s->argv[0], s->argv, s->envp);
                fprintf(stderr, "bench-hook-run: cannot run %s: %s\n", s->argv[0], strerror(errno));
                _exit(127);
            }
            int status;
            struct rusage usage;
            pid_t got;
            while ((got = wait4(pid, &status, 0, &usage)) < 0 && errno == EINTR)
                ;
            double t1 = now_us();
            if (got < 0)
                die("wait4", strerror(errno));
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-hook-run: %s: call %ld of %s (stdin %s) %s %d\n", s->label, call + 1,
                        s->argv[0], s->stdin_path, WIFEXITED(status) ? "exited with" : "killed by signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                return 1;
            }
            s->times[call] = t1 - t0;
            s->cpu_times[call] = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
                                 (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
            s->faults[call] = (double)usage.ru_minflt;
            /* Whatever the call left running, before the next one. */
            while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
                ;
            if (errno != ECHILD)
                die("waitpid", strerror(errno));
            s->detached[call] = now_us() - t1;
            if (settle.tv_nsec)
                while (nanosleep(&settle, &settle) < 0 && errno == EINTR)
                    ;
            settle = settle_each;
            if (usage.ru_maxrss > s->max_rss)
                s->max_rss = usage.ru_maxrss;
        }
    }

    for (int i = 0; i < nspecs; i++) {
        Spec *s = &specs[i];
        double median = median_of(s->times, calls);
        long rank = (99 * calls + 99) / 100; /* ceil(0.99 n), 1-based */
        printf("%s %ld %.0f %.0f %.0f %ld %.0f %.0f %.0f\n", s->label, calls, median, s->times[rank - 1],
               s->times[calls - 1], s->max_rss, median_of(s->cpu_times, calls), median_of(s->faults, calls),
               median_of(s->detached, calls));
    }
    return 0;
}

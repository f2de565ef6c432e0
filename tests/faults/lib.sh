# lib.sh - killing a command at a chosen point, shared by the fault tests.
# Sourced after $work exists, with bail (prints "Bail out!" and exits),
# bgpids (processes the test's cleanup kills) and CN (the carthage-net
# command line) defined.  It opens the descriptor $never (a FIFO in $work).
# A FIFO held open for reading and writing never has data: read -t on it is
# a sleep with microseconds and no fork.
mkfifo "$work/never"
exec {never}<>"$work/never"
pause_us() {
    local t
    [ "$1" -gt 0 ] || return 0
    printf -v t '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
    read -r -t "$t" -u "$never" _
}
# Two ways to aim a kill, half the rounds each:
#  t  SIGKILL (kill -9) from here, a random number of microseconds after the
#     start, calibrated by timing an uninterrupted run first;
#  s  SIGKILL on entering the Nth system call of the run (strace's signal
#     injection), N picked from the system calls of an uninterrupted run
#     traced first: exact points inside the operation, which timers on a
#     busy machine (start-up alone varies 10-30 ms here) rarely reach.
# Without strace (or with FAULT_STRACE=0), every round uses timers.
have_strace=""
[ "${FAULT_STRACE:-1}" != 0 ] && command -v strace >/dev/null &&
    strace -qq -o /dev/null -e trace=write true 2>/dev/null && have_strace=1
if [ -n "$have_strace" ]; then echo "# kills aimed by timer and by system call (strace)"
else echo "# kills aimed by timer only (no strace, or FAULT_STRACE=0)"; fi
# launch_kill MODE AIM IN OUT ERR CMD...: CMD in the background (a simple
# command run with &: $! is CMD itself, or strace running it), killed as
# MODE and AIM say: t and a number of µs (none when negative), or s and
# "SYSCALL:N".  Sets krc (137: killed before CMD exited), kat (µs from the
# start to the kill sent from here: on a busy machine often later than
# aimed) and kus (µs from the start to reaped).
launch_kill() {
    local mode=$1 aim=$2 in=$3 out=$4 err=$5 pid t0
    shift 5
    # Emptied here: a kill before the child's redirections would leave the
    # last round's output in place.
    : >"$out"
    : >"$err"
    t0=${EPOCHREALTIME/./}
    kat=-1
    if [ "$mode" = s ]; then
        # LeakSanitizer refuses to run under ptrace (sanitizer builds).
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
            strace -f -qq -o /dev/null -e trace="${aim%:*}" -e inject="${aim%:*}:signal=KILL:when=${aim#*:}" \
            "$@" <"$in" >"$out" 2>"$err" &
    else
        "$@" <"$in" >"$out" 2>"$err" &
    fi
    pid=$!
    bgpids="$bgpids $pid"
    if [ "$mode" = t ] && [ "$aim" -ge 0 ]; then
        pause_us "$aim"
        kat=$(( ${EPOCHREALTIME/./} - t0 ))
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    krc=$?
    kus=$(( ${EPOCHREALTIME/./} - t0 ))
    bgpids=${bgpids% "$pid"}
}
# calibrate SETUP IN CMD...: the median time of 3 uninterrupted runs, each
# after SETUP; with strace, a 4th run traced into $work/calls (one system
# call name per line).
calibrate() {
    local setup=$1 in=$2 times="" i
    shift 2
    for i in 1 2 3; do
        "$setup"
        launch_kill t -1 "$in" "$work/cal.out" "$work/cal.err" "$@"
        [ "$krc" = 0 ] || bail "calibration run of '$*' failed ($krc): $(cat "$work/cal.err")"
        times="$times $kus"
    done
    if [ -n "$have_strace" ]; then
        "$setup"
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o "$work/trace" "$@" <"$in" >/dev/null 2>&1 ||
            bail "traced calibration run of '$*' failed"
        sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$work/trace" >"$work/calls"
    fi
    printf '%s\n' $times | sort -n | sed -n 2p
}
# timed SETUP IN CMD...: calibrate into T (µs) and N (system calls, 0
# without strace), keeping the calls in $work/calls.op; bails out here (not
# in the command substitution's subshell) when it fails.
timed() {
    local value
    : >"$work/calls"
    value=$(calibrate "$@")
    [[ $value =~ ^[0-9]+$ ]] || bail "${value#Bail out! }"
    T=$value
    mv "$work/calls" "$work/calls.op"
    N=$(wc -l <"$work/calls.op")
}
noop() { :; }
# base_cli: start-up, in B (µs) and NB (system calls): the CLI validating
# the definitions.
base_cli() {
    local T N
    cp "$work/calls.op" "$work/calls.keep"
    timed noop /dev/null "${CN[@]}" validate
    B=$T NB=$N
    mv "$work/calls.keep" "$work/calls.op"
}
# aim: where to kill the next run, for an operation calibrated at T µs
# and N system calls, B µs and NB calls of them starting up (loading
# libraries and definitions): a quarter of the kills in the start-up, five
# eighths while it works (from a quarter of the work's length before its
# start to its end), an eighth after the end (by timer: after exit, or in
# the last moments).  Sets dmode (t or s) and d.  Not command
# substitutions: a subshell would not advance $RANDOM.
aim() {
    local k=$((RANDOM % 8)) lo hi i name count
    if [ -n "$have_strace" ] && [ "$N" -gt 0 ] && [ "$k" -lt 7 ] && [ $((RANDOM % 2)) = 0 ]; then
        if [ "$k" -lt 2 ]; then lo=1 hi=$NB; else hi=$N lo=$((NB - (N - NB) / 4)); fi
        [ "$lo" -ge 1 ] || lo=1
        [ "$hi" -ge "$lo" ] || hi=$lo
        i=$((lo + RANDOM * (hi - lo + 1) / 32768))
        read -r name count < <(awk -v i="$i" '{ c[$1]++ } NR == i { print $1, c[$1]; exit }' "$work/calls.op")
        dmode=s d=$name:$count dpos=$i
        return
    fi
    local w=$((T - B))
    [ "$w" -ge 1000 ] || w=1000
    dmode=t
    if [ "$k" -lt 2 ]; then d=$((RANDOM * B / 32768))
    elif [ "$k" -lt 7 ]; then d=$((B - w / 4 + RANDOM * (w + w / 4) / 32768))
    else d=$((T + RANDOM * (w / 2 + 2000) / 32768)); fi
    [ "$d" -ge 0 ] || d=0
}
# killed_at: where the last kill was aimed, for the notes.
killed_at() {
    if [ "$dmode" = s ]; then printf 'at system call %d of %d (%s, number %s of that name)' "$dpos" "$N" "${d%:*}" "${d#*:}"
    else printf '%d µs after the start (sent after %d)' "$d" "$kat"; fi
}
note() { [ -z "${FAULT_VERBOSE:-}" ] || echo "# $*"; }

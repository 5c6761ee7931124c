#!/bin/sh
# `make serve`'s job worker (Makefile WITH_WORKER): runs the command given ("$@"), and starts it again when it ends
# with an error (killed by the kernel's OOM killer, a failure of its own: it exits 0 only when asked to stop). A worker
# that fails again soon after it started (a database it cannot use) is not started every 5 s for ever: the wait
# doubles after each such run, 5, 10, 20, 40, then 60 s, and is 5 s again after a run of at least 60 s. A signal to
# the loop (TERM, INT) is passed on to the worker, and waited for.

first=5     # seconds before the first start again, and after a run that lasted `steady` seconds
longest=60  # the longest wait
steady=60   # a run that lasted this long was not a failure at start: the wait is `first` again

delay=$first
trap 'kill $pid 2>/dev/null; wait $pid; exit 0' INT TERM
while :; do
	started=$(date +%s)
	"$@" & pid=$!
	wait $pid && break
	status=$?
	[ $(($(date +%s) - started)) -ge $steady ] && delay=$first
	echo "make serve: the job worker ended with exit status $status; starting it again in $delay s" >&2
	sleep $delay & wait $!
	delay=$((delay * 2 > longest ? longest : delay * 2))
done

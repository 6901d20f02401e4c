#!/bin/sh
# Run libFuzzer targets for a bounded time each (called by `make fuzz`).
#
#   run-fuzz.sh BUILDDIR SRCDIR SECONDS JOBS NAME...
#
# Each target starts from the tree's corpus (tests/fuzz/corpus/NAME, read
# only) plus its own growing corpus in BUILDDIR/corpus/NAME, uses
# tests/fuzz/dict/NAME.dict, and writes crash reproducers to
# BUILDDIR/artifacts/NAME/.  Exit status 1 if any target found a crash,
# a leak, a timeout or an out-of-memory input.  To keep a reproducer as a
# regression input, copy it into tests/fuzz/corpus/NAME/ (`make check`
# replays it) after fixing the bug.
set -u
builddir=$1 srcdir=$2 seconds=$3 jobs=$4
shift 4
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$srcdir/tests/fuzz/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
OTP_SRCDIR=$srcdir
export OTP_SRCDIR
failed=""
for name in "$@"; do
	bin=$builddir/tests/fuzz/fuzz_$name
	seeds=$srcdir/tests/fuzz/corpus/$name
	dict=$srcdir/tests/fuzz/dict/$name.dict
	work=$builddir/corpus/$name
	art=$builddir/artifacts/$name
	log=$builddir/fuzz-$name.log
	mkdir -p "$work" "$art"
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$art/"
	test -f "$dict" && set -- "$@" -dict="$dict"
	if test "$jobs" -gt 1; then
		set -- "$@" -fork="$jobs" -ignore_crashes=0
	fi
	echo "fuzz_$name: ${seconds}s, log in $log"
	stamp=$builddir/.fuzz-$name.start
	: >"$stamp"
	start=$(date +%s)
	"$bin" "$@" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "fuzz_$name: exit $rc after $((end - start))s, ${execs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) files"
	# Reproducers from earlier runs stay in $art; only this run's count.
	new=$(find "$art" -type f -newer "$stamp")
	if test $rc -ne 0 || test -n "$new"; then
		failed="$failed $name"
		grep -E 'ERROR|invariant failed|runtime error|SUMMARY' "$log" | head -20
		echo "$new"
	fi
done
if test -n "$failed"; then
	echo "fuzz: FAILED:$failed"
	exit 1
fi
echo "fuzz: all targets ran clean"

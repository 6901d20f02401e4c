#!/bin/bash
# The built PAM module loads with RTLD_NOW (every symbol resolvable, as
# libpam's dlopen needs) and exports pam_sm_* and nothing else.  TAP.
set -u

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP system tests need root"; exit 0; fi
if [ "${OTP_SYSTEM_TESTS:-}" != 1 ]; then echo "1..0 # SKIP set OTP_SYSTEM_TESTS=1 to run the system tests"; exit 0; fi

builddir=${OTP_BUILDDIR:-$(pwd)}
mod="$builddir/.libs/pam_otp_sms.so"
n=0 failed=0
ok() { # ok COND-STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | head -40 | sed 's/^/# /'
	fi
}

[ -f "$mod" ]; ok $? "module built: $mod"

out=$(/usr/bin/python3 - "$mod" 2>&1 <<'PY'
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
for name in ("pam_sm_authenticate", "pam_sm_setcred"):
    getattr(lib, name)
print("loaded")
PY
)
[ "$out" = loaded ]; ok $? "dlopen(RTLD_NOW) resolves every symbol; pam_sm_authenticate and pam_sm_setcred found" "$out"

# A tiny C loader too: what libpam itself does (dlopen RTLD_NOW, dlsym).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/load.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	if (dlsym(h, "pam_sm_authenticate") == NULL) { fprintf(stderr, "no pam_sm_authenticate\n"); return 1; }
	if (dlsym(h, "pam_sm_setcred") == NULL) { fprintf(stderr, "no pam_sm_setcred\n"); return 1; }
	if (dlsym(h, "otp_config_load") != NULL) { fprintf(stderr, "internal symbol visible\n"); return 1; }
	return dlclose(h) == 0 ? 0 : 1;
}
C
if cc -o "$tmp/load" "$tmp/load.c" -ldl 2>"$tmp/cc.err"; then
	out=$("$tmp/load" "$mod" 2>&1); ok $? "C loader: dlopen RTLD_NOW, dlsym pam_sm_*, internal otp_* not visible" "$out"
else
	ok 1 "C loader compiles" "$(cat "$tmp/cc.err")"
fi

syms=$(nm -D --defined-only "$mod" | awk 'NF >= 3 { print $3 }' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -v -E '^pam_sm_[a-z_]+$' | grep -v '^$')
[ -z "$bad" ]; ok $? "nm -D --defined-only: only pam_sm_* exported" "$bad"
printf '%s\n' "$syms" | grep -qx pam_sm_authenticate; ok $? "pam_sm_authenticate exported" "$syms"
printf '%s\n' "$syms" | grep -qx pam_sm_setcred; ok $? "pam_sm_setcred exported" "$syms"

dyn=$(readelf -d "$mod" 2>&1)
! printf '%s\n' "$dyn" | grep -q TEXTREL; ok $? "no text relocations" "$dyn"
printf '%s\n' "$dyn" | grep -q 'BIND_NOW'; ok $? "linked with -z now (BIND_NOW)" "$dyn"
readelf -lW "$mod" | grep -q GNU_RELRO; ok $? "RELRO segment present"
readelf -lW "$mod" | grep GNU_STACK | grep -q -v 'RWE'; ok $? "non-executable stack"
printf '%s\n' "$dyn" | grep -q 'NEEDED.*libpam\.so'; ok $? "links libpam (NEEDED libpam.so.0)" "$dyn"

echo "1..$n"
[ "$failed" -eq 0 ]

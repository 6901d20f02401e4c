#!/bin/bash
# The Debian package end to end: build libpam-otp-sms from a copy of the
# tree with dpkg-buildpackage, install it, check files and modes, run
# pam-auth-update, enable the profile, run the installed otp-smsctl against
# a loopback gateway, then purge and check that nothing is left.  TAP.
#
# Needs root and OTP_SYSTEM_TESTS=1 (else skip).  The trap purges the
# package and restores /etc/pam.d/common-* and /var/lib/pam on any exit.
set -u

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP system tests need root"; exit 0; fi
if [ "${OTP_SYSTEM_TESTS:-}" != 1 ]; then echo "1..0 # SKIP set OTP_SYSTEM_TESTS=1 to run the system tests"; exit 0; fi
if dpkg-query -W -f='${Status}' libpam-otp-sms 2>/dev/null | grep -q 'installed'; then
	echo "1..0 # SKIP libpam-otp-sms is already installed on this machine; not touching it"; exit 0
fi

# The system tests change shared system state (PAM stacks, users, sudoers,
# packages): run one at a time even under make -j.
lockdir=/run/lock; [ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/pam_otp_sms-system-tests.lock"
flock 9

srcdir=${OTP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PKG=libpam-otp-sms
n=0 failed=0
ok() { # ok STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | tail -40 | sed 's/^/# /'
	fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

tmp=$(mktemp -d /tmp/otp-deb.XXXXXX)
chmod 700 "$tmp"
mock_pid=
cp -a /etc/pam.d "$tmp/pam.d.orig"
[ -d /var/lib/pam ] && cp -a /var/lib/pam "$tmp/varlibpam.orig"
cleanup() {
	[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
	if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q -v 'not-installed'; then
		DEBIAN_FRONTEND=noninteractive dpkg --purge $PKG >/dev/null 2>&1
	fi
	for f in "$tmp"/pam.d.orig/common-*; do
		cmp -s "$f" "/etc/pam.d/$(basename "$f")" || cp -a "$f" /etc/pam.d/
	done
	if [ -d "$tmp/varlibpam.orig" ]; then rm -rf /var/lib/pam && cp -a "$tmp/varlibpam.orig" /var/lib/pam; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for tool in dpkg-buildpackage dh pam-auth-update; do
	command -v $tool >/dev/null 2>&1; ok $? "$tool is installed (scripts/install-deps.sh)"
done
[ "$failed" -eq 0 ] || finish

# --- build from a copy of the tree (tracked and new files, no build output) --
ver=$(sed -n '1s/.*(\(.*\)).*/\1/p' "$srcdir/debian/changelog")
tree="$tmp/pam-otp-sms-$ver"
mkdir "$tree"
if git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	# Tracked and new files; not build directories inside the tree (any
	# directory holding a config.status, e.g. scripts/test.sh's build-test).
	git -C "$srcdir" ls-files -z -c -o --exclude-standard |
		(cd "$srcdir" && while IFS= read -r -d '' f; do
			[ -e "$f" ] || continue
			case "$f" in */*) top=${f%%/*}; [ -e "$top/config.status" ] && continue ;; esac
			printf '%s\0' "$f"
		done) |
		(cd "$srcdir" && tar --null -T - -cf -) | tar -C "$tree" -xf -
else
	cp -a "$srcdir/." "$tree/"
fi
[ -x "$tree/debian/rules" ] && [ -f "$tree/configure.ac" ]
ok $? "copied the source tree to $tree"

(cd "$tree" && env -u OTP_SYSTEM_TESTS -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	DEB_BUILD_OPTIONS="nocheck parallel=2" DEBIAN_FRONTEND=noninteractive \
	dpkg-buildpackage -us -uc -b -Pnocheck) >"$tmp/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b" "$(tail -40 "$tmp/build.log")"
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb="$tmp/${PKG}_${ver}_${arch}.deb"
[ -f "$deb" ]; ok $? "built $(basename "$deb")" "$(ls "$tmp")"
[ -f "$deb" ] || finish

contents=$(dpkg-deb -c "$deb")
has() { printf '%s\n' "$contents" | grep -E -q "$1"; }
has "^-rw-r--r-- root/root .* \./usr/lib/$ma/security/pam_otp_sms\.so$"; ok $? "package: module in /usr/lib/$ma/security, 0644 root" "$contents"
! has '\.la$'; ok $? "package: no libtool .la file"
has '^-rwxr-xr-x root/root .* \./usr/sbin/otp-smsctl$'; ok $? "package: /usr/sbin/otp-smsctl"
has '^-rw------- root/root .* \./etc/security/pam_otp_sms\.conf$'; ok $? "package: config 0600 root"
has '^-rw------- root/root .* \./etc/security/pam_otp_sms\.users$'; ok $? "package: contacts 0600 root"
has '^drwx------ root/root .* \./var/lib/pam_otp_sms/$'; ok $? "package: state dir 0700 root"
has '\./usr/share/pam-configs/pam-otp-sms$'; ok $? "package: pam-auth-update profile"
has '\./usr/lib/tmpfiles\.d/pam_otp_sms\.conf$'; ok $? "package: tmpfiles.d entry"
for m in man5/pam_otp_sms.conf.5 man8/pam_otp_sms.8 man8/otp-smsctl.8; do
	has "\./usr/share/man/$m\.gz$"; ok $? "package: man page $m"
done
has '\./usr/share/doc/libpam-otp-sms/examples/pam.d/sshd-otp\.example$'; ok $? "package: example PAM stacks in /usr/share/doc/libpam-otp-sms/examples"
conffiles=$(dpkg-deb -I "$deb" conffiles 2>&1)
printf '%s\n' "$conffiles" | grep -qx /etc/security/pam_otp_sms.conf; ok $? "conffile: /etc/security/pam_otp_sms.conf" "$conffiles"

# --- install -----------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/install.log" 2>&1
ok $? "dpkg -i" "$(cat "$tmp/install.log")"
dpkg-query -W -f='${Status}' $PKG | grep -q 'install ok installed'; ok $? "package state: install ok installed"
mode() { stat -c '%a %U %G' "$1" 2>&1; }
[ "$(mode /usr/lib/"$ma"/security/pam_otp_sms.so)" = "644 root root" ]; ok $? "installed module 0644 root" "$(mode /usr/lib/"$ma"/security/pam_otp_sms.so)"
[ "$(mode /etc/security/pam_otp_sms.conf)" = "600 root root" ]; ok $? "installed config 0600 root" "$(mode /etc/security/pam_otp_sms.conf)"
[ "$(mode /etc/security/pam_otp_sms.users)" = "600 root root" ]; ok $? "installed contacts 0600 root"
[ "$(mode /var/lib/pam_otp_sms)" = "700 root root" ] && [ ! -L /var/lib/pam_otp_sms ]; ok $? "state dir 0700 root" "$(mode /var/lib/pam_otp_sms)"
! grep -q pam_otp_sms /etc/pam.d/common-auth; ok $? "Default: no -- installing enables nothing"

DEBIAN_FRONTEND=noninteractive pam-auth-update --package >"$tmp/pau.log" 2>&1
ok $? "pam-auth-update --package (non-interactive)" "$(cat "$tmp/pau.log")"
! grep -q pam_otp_sms /etc/pam.d/common-auth; ok $? "still not in common-auth after pam-auth-update --package"

DEBIAN_FRONTEND=noninteractive pam-auth-update --enable pam-otp-sms >"$tmp/pau.log" 2>&1
ok $? "pam-auth-update --enable pam-otp-sms" "$(cat "$tmp/pau.log")"
la=$(grep -n 'pam_otp_sms\.so' /etc/pam.d/common-auth | cut -d: -f1 | head -1)
lu=$(grep -n 'pam_unix\.so' /etc/pam.d/common-auth | cut -d: -f1 | head -1)
lp=$(grep -n 'pam_permit\.so' /etc/pam.d/common-auth | cut -d: -f1 | head -1)
[ -n "$la" ] && [ -n "$lu" ] && [ -n "$lp" ] && [ "$la" -gt "$lu" ] && [ "$la" -gt "$lp" ]
ok $? "enabled: pam_otp_sms after pam_unix and the primary block in common-auth" "$(grep -v '^#' /etc/pam.d/common-auth)"
grep -E -q '^auth[[:space:]]+\[success=ok ignore=ignore default=die\][[:space:]]+pam_otp_sms\.so' /etc/pam.d/common-auth
ok $? "enabled: control field [success=ok ignore=ignore default=die]"

# --- the installed tools on a filled-in config ----------------------------------
/usr/sbin/otp-smsctl check >"$tmp/check0.log" 2>&1; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ]; ok $? "otp-smsctl check on the shipped example answers 0 or 1 (got $rc)" "$(cat "$tmp/check0.log")"

/usr/bin/python3 - "$tmp" >"$tmp/mock.log" 2>&1 <<'PY' &
import http.server, json, os, sys, threading
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(os.path.join(d, "received.json"), "ab") as f:
            f.write(body + b"\n")
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
threading.Timer(300, s.shutdown).start()    # bounded: never outlives the test
s.serve_forever()
PY
mock_pid=$!
for _ in $(seq 50); do [ -f "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null)
[ -n "$port" ]; ok $? "loopback gateway started" "$(cat "$tmp/mock.log")"

# Fill in the installed example: only the connector block changes.
/usr/bin/python3 - "$port" <<'PY'
import re, sys
p = "/etc/security/pam_otp_sms.conf"
s = open(p).read()
s2 = re.sub(r'endpoint = "[^"]*";', 'endpoint = "http://127.0.0.1:%s/sms";' % sys.argv[1], s, count=1)
s2 = s2.replace('channels = [ "sms", "email" ];', 'channels = [ "sms" ];')
assert s2 != s, "no endpoint line in the shipped example"
open(p, "w").write(s2)
PY
ok $? "filled in the shipped example: http-sms endpoint on loopback"
[ "$(mode /etc/security/pam_otp_sms.conf)" = "600 root root" ]; ok $? "config still 0600 after editing"
/usr/sbin/otp-smsctl check >"$tmp/check.log" 2>&1
ok $? "otp-smsctl check passes on the filled-in example" "$(cat "$tmp/check.log")"
/usr/sbin/otp-smsctl send-test --to +819012345678 >"$tmp/send.log" 2>&1
ok $? "otp-smsctl send-test through the installed binary" "$(cat "$tmp/send.log")"
grep -q '"to": *"+819012345678"' "$tmp/received.json" 2>/dev/null && grep -q '"code": *"[0-9]\{6\}"' "$tmp/received.json"
ok $? "the gateway received {to, payload.code}" "$(cat "$tmp/received.json" 2>&1)"
! grep -q '9012345678' "$tmp/send.log"; ok $? "send-test output does not show the full number" "$(cat "$tmp/send.log")"

# --- purge ---------------------------------------------------------------------
grep -q pam_otp_sms /etc/pam.d/common-auth; ok $? "purging with the profile still enabled"
DEBIAN_FRONTEND=noninteractive dpkg --purge $PKG >"$tmp/purge.log" 2>&1
ok $? "dpkg --purge" "$(cat "$tmp/purge.log")"
! dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q 'ok installed'; ok $? "package state after purge: not installed" "$(dpkg-query -W -f='${Status}' $PKG 2>&1)"
! grep -r -q pam_otp_sms /etc/pam.d/; ok $? "no pam_otp_sms left in /etc/pam.d (prerm ran pam-auth-update --remove)" "$(grep -r pam_otp_sms /etc/pam.d/)"
same=0
for f in "$tmp"/pam.d.orig/common-*; do cmp -s "$f" "/etc/pam.d/$(basename "$f")" || same=1; done
ok $same "common-* files are back to what they were before the install" "$(diff -r "$tmp/pam.d.orig" /etc/pam.d)"
left=
for p in /usr/lib/"$ma"/security/pam_otp_sms.so /usr/sbin/otp-smsctl /etc/security/pam_otp_sms.conf \
	/etc/security/pam_otp_sms.users /var/lib/pam_otp_sms /usr/share/pam-configs/pam-otp-sms \
	/usr/lib/tmpfiles.d/pam_otp_sms.conf /usr/share/doc/$PKG /usr/share/man/man8/pam_otp_sms.8.gz; do
	[ -e "$p" ] && left="$left $p"
done
[ -z "$left" ]; ok $? "purge leaves no files (config, state dir, profile, module, docs)" "left:$left"

finish

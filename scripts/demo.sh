#!/bin/sh
# Install what is needed, build, and run a real demo login: the built
# pam_otp_sms.so in a real PAM transaction (libpam via pamtester), the real
# http-sms connector posting to a loopback gateway that shows the SMS.
# No credentials, no internet.  Interactive on a terminal (type the code you
# see); with CI=true or no terminal the code is typed for you.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./scripts/install-deps.sh
[ -x configure ] && [ -f build-aux/tap-driver.sh ] || ./autogen.sh
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)"

demo=$(mktemp -d /tmp/pam_otp_sms-demo.XXXXXX)
chmod 700 "$demo"
gw_pid=""
cleanup() {
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT INT TERM

/usr/bin/python3 "$top/scripts/demo-gateway.py" --port-file "$demo/port" --code-file "$demo/code" &
gw_pid=$!
i=0
while [ ! -s "$demo/port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "demo gateway did not start" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$demo/port")

mkdir -m 700 "$demo/pam.d" "$demo/etc"
cat > "$demo/etc/pam_otp_sms.conf" <<CONF
# The demo configuration: everything default except where files live and
# the connector, Logto's http-sms webhook pointed at the loopback gateway.
state: { path = "$demo/state"; };
contacts: { file = "$demo/etc/pam_otp_sms.users"; };
sms: {
  connector = "http-sms";
  http-sms = { endpoint = "http://127.0.0.1:$port/sms"; };
};
CONF
printf 'demo +15555550123 -\n' > "$demo/etc/pam_otp_sms.users"
chmod 600 "$demo/etc/pam_otp_sms.conf" "$demo/etc/pam_otp_sms.users"
printf 'auth required %s config=%s\naccount required pam_permit.so\n' \
	"$top/build/.libs/pam_otp_sms.so" "$demo/etc/pam_otp_sms.conf" > "$demo/pam.d/otp-demo"
# A demo user that exists only for this run (nss_wrapper), so nothing in
# /etc/passwd changes; pam_wrapper makes libpam read $demo/pam.d.
printf 'demo:x:4242:4242:Demo User:/nonexistent:/bin/sh\n' > "$demo/passwd"
printf 'demo:x:4242:\n' > "$demo/group"

printf 'auth required pam_deny.so\n' > "$demo/pam.d/other"
echo "== otp-smsctl check"
LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$demo/passwd" NSS_WRAPPER_GROUP="$demo/group" \
	./otp-smsctl -c "$demo/etc/pam_otp_sms.conf" check
echo
echo "== pamtester otp-demo demo authenticate (the real module in a real PAM transaction)"
run_login() {
	LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$demo/pam.d" \
	NSS_WRAPPER_PASSWD="$demo/passwd" NSS_WRAPPER_GROUP="$demo/group" \
		pamtester -v otp-demo demo authenticate
}
if [ -t 0 ] && [ "${CI:-}" != "true" ]; then
	run_login
else
	# Non-interactive: wait for the gateway to receive the code, then type it.
	{
		i=0
		while [ ! -s "$demo/code" ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
		cat "$demo/code"
	} | run_login
fi

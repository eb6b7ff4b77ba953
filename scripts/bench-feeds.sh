#!/usr/bin/env bash
# bench-feeds.sh: requests per second of a cached feed (200, plain and
# gzip) and of a conditional GET (304) from `pressroom serve`, side by
# side with Debian's nginx serving the same bytes as static files
# (exported by `pressroom feeds build`), on this machine, measured with wrk.
#
# Usage: scripts/bench-feeds.sh            (from the repository root)
#   DURATION=5s ROUNDS=3 CONNECTIONS=32 THREADS=2 FEED=all.rss LOG=off scripts/bench-feeds.sh
#   PRESSROOM=/path/to/pressroom scripts/bench-feeds.sh   (measure that build instead)
# The two servers are measured in alternation, ROUNDS times each, and the
# median of each is reported, so a load change on a shared machine hits
# both alike. Beside requests/s, each server's CPU time per request
# (user + system, from /proc) is reported: on a shared machine it moves
# less than the rate does.
#
# Like with like: both keep connections alive (wrk's default), serve the
# same bytes (checked), and the gzip row serves the same gzip bytes
# (pressroom's, which nginx serves with gzip_static). Access logging is
# off for both by default (pressroom --log-level warn, nginx access_log
# off); LOG=on turns it on for both: pressroom's JSON request line and
# nginx's combined access log, each written to a file per request.
# Needs: go, wrk, nginx, curl (Debian packages golang, wrk, nginx, curl).
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
FEED=${FEED:-all.rss}
LOG=${LOG:-off}
PPORT=${PRESSROOM_PORT:-18080}
NPORT=${NGINX_PORT:-18081}

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench-feeds: needs $1 (Debian package $2)" >&2; exit 1; }; }
need go golang
need wrk wrk
need curl curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench-feeds: needs nginx (Debian package nginx)" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-feeds.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # wait_for CMD... : up to 60 s
	for _ in $(seq 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench-feeds: timed out waiting for: $*" >&2; exit 1
}

if [ -n "${PRESSROOM:-}" ]; then # a given build, e.g. to compare two commits
	cp "$PRESSROOM" "$work/pressroom"
else
	echo "building pressroom..."
	go build -o "$work/pressroom" ./cmd/pressroom
fi

# A demo-like database: the demo's own data, kept after the demo stops.
"$work/pressroom" demo --keep --addr 127.0.0.1:0 --log-level warn >"$work/demo.out" 2>&1 &
demo=$!
wait_for grep -q "Stop with Ctrl-C" "$work/demo.out"
kill -INT "$demo"; wait "$demo" || true
db=$(sed -n 's/^Loaded the demo newsroom into \(.*\): .*/\1/p' "$work/demo.out")
[ -f "$db" ] || { echo "bench-feeds: no demo database in:"; cat "$work/demo.out"; exit 1; } >&2
trap 'cleanup; rm -rf "$(dirname "$db")"' EXIT

mkdir -p "$work/www"
base="http://127.0.0.1:$PPORT"
case $LOG in
on) plog=(--log-level info --log-format json) nlog="access_log $work/access.log;" ;;
off) plog=(--log-level warn) nlog="access_log off;" ;;
*) echo "bench-feeds: LOG must be on or off, got $LOG" >&2; exit 1 ;;
esac
# The static files, by the same code as serve's --feeds-out export (not
# used here: its job would run in the server during the measurement).
"$work/pressroom" feeds build --db "$db" --base-url "$base" --out "$work/www/feeds" >/dev/null
"$work/pressroom" serve --db "$db" --addr "127.0.0.1:$PPORT" --base-url "$base" "${plog[@]}" \
	>"$work/serve.out" 2>"$work/serve.log" &
ppid=$!
pids+=($ppid)
wait_for curl -fsS -o /dev/null "$base/feeds/$FEED"
# The gzip copy pressroom serves, for nginx's gzip_static: same bytes.
curl -fsS -H 'Accept-Encoding: gzip' "$base/feeds/$FEED" >"$work/www/feeds/$FEED.gz"

cat >"$work/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
	$nlog
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	types { application/rss+xml rss; application/atom+xml atom; application/feed+json json; text/x-opml opml; }
	server {
		listen 127.0.0.1:$NPORT;
		root $work/www;
		gzip_static on;
		gzip_vary on;
	}
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" &
npid=$!
pids+=($npid)
nurl="http://127.0.0.1:$NPORT/feeds/$FEED"
wait_for curl -fsS -o /dev/null "$nurl"
nworkers=$(ps -o pid= --ppid "$npid" | tr '\n' ' ')

# Same bytes from both.
curl -fsS "$base/feeds/$FEED" >"$work/a"
curl -fsS "$nurl" >"$work/b"
cmp -s "$work/a" "$work/b" || { echo "bench-feeds: pressroom and nginx serve different bytes" >&2; exit 1; }
curl -fsS -H 'Accept-Encoding: gzip' "$nurl" >"$work/bgz"
cmp -s "$work/www/feeds/$FEED.gz" "$work/bgz" || { echo "bench-feeds: nginx does not serve pressroom's gzip bytes" >&2; exit 1; }
petag=$(curl -fsSI "$base/feeds/$FEED" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
netag=$(curl -fsSI "$nurl" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $petag" "$base/feeds/$FEED")" = 304 ] || { echo "bench-feeds: pressroom gave no 304" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $netag" "$nurl")" = 304 ] || { echo "bench-feeds: nginx gave no 304" >&2; exit 1; }

cputicks() { # cputicks PID...: user + system clock ticks of the processes
	local t=0 p f
	for p in "$@"; do
		read -r -a f <"/proc/$p/stat"
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
# run URL HEADER PID...: one wrk run; prints "requests/s server-CPU-µs/request"
run() {
	local url=$1 hdr=$2 args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
	shift 2
	[ -n "$hdr" ] && args+=(-H "$hdr")
	local t0 t1 out
	t0=$(cputicks "$@")
	out=$(wrk "${args[@]}" "$url")
	t1=$(cputicks "$@")
	echo "$out" >>"$work/wrk.out"
	awk -v t=$((t1 - t0)) -v hz="$hz" '
		/^Requests\/sec:/ { rps = $2 }
		/ requests in / { n = $1 }
		END { printf "%s %.1f\n", rps, t / hz * 1e6 / n }' <<<"$out"
}

size=$(wc -c <"$work/a")
gzsize=$(wc -c <"$work/bgz")
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# compare PRESSROOM_HEADER NGINX_HEADER: alternate the two servers, ROUNDS
# times, and print the medians: pressroom req/s, its CPU µs/request,
# nginx req/s, its CPU µs/request.
compare() {
	local pr=() pc=() nr=() nc=() r c
	for _ in $(seq "$ROUNDS"); do
		read -r r c < <(run "$base/feeds/$FEED" "$1" "$ppid")
		pr+=("$r") pc+=("$c")
		# shellcheck disable=SC2086 # one argument per worker
		read -r r c < <(run "$nurl" "$2" $nworkers)
		nr+=("$r") nc+=("$c")
	done
	echo "$(printf '%s\n' "${pr[@]}" | median) $(printf '%s\n' "${pc[@]}" | median)" \
		"$(printf '%s\n' "${nr[@]}" | median) $(printf '%s\n' "${nc[@]}" | median)"
}
echo "feed $FEED: $size bytes ($gzsize gzipped); wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive, access log $LOG for both; $ROUNDS alternating rounds, medians; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r p200 pc200 n200 nc200 < <(compare "" "")
read -r p304 pc304 n304 nc304 < <(compare "If-None-Match: $petag" "If-None-Match: $netag")
read -r pgz pcgz ngz ncgz < <(compare "Accept-Encoding: gzip" "Accept-Encoding: gzip")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
printf '\n| request | pressroom req/s | nginx req/s | pressroom / nginx | CPU µs/request: pressroom / nginx |\n|---|---|---|---|---|\n'
printf '| GET %s (200, %s bytes) | %s | %s | %s | %s / %s |\n' "$FEED" "$size" "$p200" "$n200" "$(ratio "$p200" "$n200")" "$pc200" "$nc200"
printf '| conditional GET (304) | %s | %s | %s | %s / %s |\n' "$p304" "$n304" "$(ratio "$p304" "$n304")" "$pc304" "$nc304"
printf '| GET, Accept-Encoding: gzip (200, %s bytes) | %s | %s | %s | %s / %s |\n' "$gzsize" "$pgz" "$ngz" "$(ratio "$pgz" "$ngz")" "$pcgz" "$ncgz"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$LOG" = on ]; then
	echo "request log lines written: pressroom $(grep -c '"msg":"HTTP request"' "$work/serve.log"), nginx $(wc -l <"$work/access.log")"
fi

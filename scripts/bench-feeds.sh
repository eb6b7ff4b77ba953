#!/usr/bin/env bash
# bench-feeds.sh: requests per second of a cached feed (200) and of a
# conditional GET (304) from `pressroom serve`, side by side with Debian's
# nginx serving the same bytes as static files (exported by serve's
# --feeds-out), on this machine, measured with wrk.
#
# Usage: scripts/bench-feeds.sh            (from the repository root)
#   DURATION=5s ROUNDS=3 CONNECTIONS=32 THREADS=2 FEED=all.rss scripts/bench-feeds.sh
# The two servers are measured in alternation, ROUNDS times each, and the
# median of each is reported, so a load change on a shared machine hits
# both alike.
# Needs: go, wrk, nginx, curl (Debian packages golang, wrk, nginx, curl).
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
FEED=${FEED:-all.rss}
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

echo "building pressroom..."
go build -o "$work/pressroom" ./cmd/pressroom

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
"$work/pressroom" serve --db "$db" --addr "127.0.0.1:$PPORT" --base-url "$base" --log-level warn \
	--feeds-out "$work/www/feeds" --feeds-cron "@every 1s" >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
wait_for test -f "$work/www/feeds/$FEED"
wait_for curl -fsS -o /dev/null "$base/feeds/$FEED"

cat >"$work/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	types { application/rss+xml rss; application/atom+xml atom; application/feed+json json; text/x-opml opml; }
	server {
		listen 127.0.0.1:$NPORT;
		root $work/www;
	}
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" &
pids+=($!)
nurl="http://127.0.0.1:$NPORT/feeds/$FEED"
wait_for curl -fsS -o /dev/null "$nurl"

# Same bytes from both.
curl -fsS "$base/feeds/$FEED" >"$work/a"
curl -fsS "$nurl" >"$work/b"
cmp -s "$work/a" "$work/b" || { echo "bench-feeds: pressroom and nginx serve different bytes" >&2; exit 1; }
petag=$(curl -fsSI "$base/feeds/$FEED" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
netag=$(curl -fsSI "$nurl" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $petag" "$base/feeds/$FEED")" = 304 ] || { echo "bench-feeds: pressroom gave no 304" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $netag" "$nurl")" = 304 ] || { echo "bench-feeds: nginx gave no 304" >&2; exit 1; }

rps() { # rps URL [HEADER]: requests/s from one wrk run
	local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
	[ $# -gt 1 ] && args+=(-H "$2")
	wrk "${args[@]}" "$1" | tee -a "$work/wrk.out" | awk '/^Requests\/sec:/ {print $2}'
}

size=$(wc -c <"$work/a")
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# compare NAME PRESSROOM_URL PRESSROOM_HEADER NGINX_URL NGINX_HEADER: alternate
# the two, ROUNDS times, and print the two medians.
compare() {
	local ps=() ns=()
	for _ in $(seq "$ROUNDS"); do
		ps+=("$(rps "$2" ${3:+"$3"})")
		[ -n "$4" ] && ns+=("$(rps "$4" ${5:+"$5"})")
	done
	local pm nm=-
	pm=$(printf '%s\n' "${ps[@]}" | median)
	[ -n "$4" ] && nm=$(printf '%s\n' "${ns[@]}" | median)
	echo "$pm $nm"
}
echo "feed $FEED: $size bytes; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds, medians; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r p200 n200 < <(compare 200 "$base/feeds/$FEED" "" "$nurl" "")
read -r p304 n304 < <(compare 304 "$base/feeds/$FEED" "If-None-Match: $petag" "$nurl" "If-None-Match: $netag")
read -r pgz _ < <(compare gzip "$base/feeds/$FEED" "Accept-Encoding: gzip" "" "")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
printf '\n| request | pressroom req/s | nginx req/s | pressroom / nginx |\n|---|---|---|---|\n'
printf '| GET %s (200, %s bytes) | %s | %s | %s |\n' "$FEED" "$size" "$p200" "$n200" "$(ratio "$p200" "$n200")"
printf '| conditional GET (304) | %s | %s | %s |\n' "$p304" "$n304" "$(ratio "$p304" "$n304")"
printf '| GET with Accept-Encoding: gzip (pressroom only; nginx not configured for gzip) | %s | - | - |\n' "$pgz"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

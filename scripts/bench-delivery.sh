#!/usr/bin/env bash
# bench-delivery.sh: deliver one digest edition to N subscribers into
# Postfix's smtp-sink and compare with smtp-source pushing the same number
# of messages of the same size over the same number of connections (the
# ceiling of this machine and sink).
#
# Usage: scripts/bench-delivery.sh [N ...]        (default: 10000 100000)
# Env:   WORKERS (SMTP connections, default 4), CHUNK (default 50),
#        DKIM=1 also runs Ed25519 and RSA-2048 DKIM signing at the largest N,
#        KEEP=1 keeps the work folder, PROFILE=1 builds with -tags profile
#        and writes a CPU profile of each pressroom run into the work folder
#        (implies KEEP=1).
# Needs: go, /usr/sbin/smtp-sink, /usr/sbin/smtp-source (Debian package
#        postfix), /usr/bin/time (package time), python3, openssl.
#
# Each figure is one run of the real binary ("pressroom digest send") under
# /usr/bin/time -v: wall time, user+system CPU seconds, peak RSS. The
# ledger is on (synchronous=FULL group commits); the database is a fresh
# copy of one planned edition for every run.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000)
WORKERS=${WORKERS:-4}
CHUNK=${CHUNK:-50}
DATE=2026-11-27 # the demo data's newest day: its edition holds 26 articles

for p in /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/bin/time; do
	[ -x "$p" ] || { echo "missing $p (apt-get install postfix time)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/bench-delivery.XXXXXX)
SINK_PID=""
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "work folder kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

BIN=$WORK/pressroom
if [ "${PROFILE:-0}" = 1 ]; then
	KEEP=1
	go build -tags profile -o "$BIN" ./cmd/pressroom
else
	go build -o "$BIN" ./cmd/pressroom
fi

export PRESSROOM_TZ=Europe/Moscow PRESSROOM_BASE_URL=https://news.example \
	PRESSROOM_POSTAL_ADDRESS="1 Tverskaya St, Moscow" PRESSROOM_LOG_LEVEL=warn

# A free local port for the sink.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SINK_USER=$(id -un)
/usr/sbin/smtp-sink -u "$SINK_USER" "127.0.0.1:$PORT" 1024 &
SINK_PID=$!
sleep 0.5
SMTP_URL="smtp://127.0.0.1:$PORT?tls=none"

# newsroom N: a planned edition for N readers in $WORK/N.db
newsroom() {
	local n=$1 db=$WORK/$1.db
	"$BIN" migrate --db "$db" >/dev/null
	python3 - "$db" "$BIN" <<'PY'
import json, subprocess, sys
db, binary = sys.argv[1], sys.argv[2]
for line in open("cmd/pressroom/demodata/sections.jsonl"):
    s = json.loads(line)
    subprocess.run([binary, "sections", "add", "--db", db, s["slug"], s["title"],
                    "--position", str(s.get("position", 0))], check=True, stdout=subprocess.DEVNULL)
PY
	"$BIN" import --db "$db" cmd/pressroom/demodata/articles.jsonl >/dev/null
	python3 - "$n" >"$WORK/subs-$n.csv" <<'PY'
import sys
n = int(sys.argv[1])
choices = ["", "politics", "economy,world", "sport,society,science"]
print("email,name,sections,status")
for i in range(n):
    print(f'reader{i:06d}@reader.example,Читатель {i},"{choices[i % 4]}",active')
PY
	"$BIN" subscribers import --db "$db" "$WORK/subs-$n.csv" >/dev/null
	"$BIN" digest plan --db "$db" --date "$DATE" >/dev/null
	# The four section choices repeat every four readers: their average
	# size is the average message size of the run.
	local total=0
	for i in 0 1 2 3; do
		"$BIN" digest preview --db "$db" --date "$DATE" --email "reader00000$i@reader.example" --format eml \
			--out "$WORK/sample$i.eml" >/dev/null
		total=$((total + $(stat -c %s "$WORK/sample$i.eml")))
	done
	SIZE=$((total / 4))
}

# measure LABEL CMD...: runs CMD under /usr/bin/time -v; sets SECS CPU RSS_MB
measure() {
	local label=$1
	shift
	/usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || {
		echo "$label failed:" >&2
		cat "$WORK/$label.err" >&2
		exit 1
	}
	SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.txt")
	CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$WORK/time.txt")
	RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/time.txt")
}

# send N LABEL [extra flags]: deliver the planned edition from a fresh copy.
send() {
	local n=$1 label=$2
	shift 2
	cp "$WORK/$n.db" "$WORK/run.db"
	export PRESSROOM_CPUPROFILE=
	[ "${PROFILE:-0}" = 1 ] && export PRESSROOM_CPUPROFILE="$WORK/${label// /-}.pprof"
	measure "$label" "$BIN" digest send --db "$WORK/run.db" --date "$DATE" --smtp-url "$SMTP_URL" \
		--from "Пресс-обзор <digest@news.example>" --envelope-from "bounces+{token}@news.example" \
		--smtp-workers "$WORKERS" --chunk "$CHUNK" "$@"
	SENT=$(sed -n 's/.*: sent \([0-9]*\),.*/\1/p' "$WORK/$label.out")
	printf "%-28s %8d msgs %8.2f s %9.0f msg/s %8s CPU s %7s MB RSS\n" "$label" "$SENT" "$SECS" \
		"$(echo "$SENT / $SECS" | bc -l)" "$CPU" "$RSS_MB"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
echo "workers $WORKERS, chunk $CHUNK, edition $DATE"
for n in "${SIZES[@]}"; do
	newsroom "$n"
	echo
	echo "== $n subscribers (average message $SIZE bytes)"
	send "$n" "pressroom $n"
	PSENT=$SENT
	# smtp-source: same count, same size, same connections, one connection
	# per session carrying many messages (-d), like pressroom's workers.
	measure "smtp-source-$n" /usr/sbin/smtp-source -d -s "$WORKERS" -m "$PSENT" -l "$SIZE" \
		-f bounces@news.example -t reader@reader.example "127.0.0.1:$PORT"
	printf "%-28s %8d msgs %8.2f s %9.0f msg/s %8s CPU s %7s MB RSS\n" "smtp-source $n" "$PSENT" "$SECS" \
		"$(echo "$PSENT / $SECS" | bc -l)" "$CPU" "$RSS_MB"
done

if [ "${DKIM:-0}" = 1 ]; then
	n=${SIZES[${#SIZES[@]}-1]}
	openssl genpkey -algorithm ed25519 -out "$WORK/ed25519.pem" 2>/dev/null
	openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
	echo
	echo "== DKIM, $n subscribers"
	send "$n" "pressroom $n ed25519" --dkim-key "$WORK/ed25519.pem" --dkim-selector bench
	send "$n" "pressroom $n rsa-2048" --dkim-key "$WORK/rsa.pem" --dkim-selector bench
fi

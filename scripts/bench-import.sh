#!/usr/bin/env bash
# Measures a large import with the real binary: generates an N-line JSON
# Lines file of realistic articles (~2.5 KB each: Cyrillic text, HTML body,
# every other one with an image, related links, tags), imports it into a
# fresh database and reports the rate and peak RSS from /usr/bin/time -v.
#
#   scripts/bench-import.sh [LINES]        # default 1000000
#
# Needs: go, awk, /usr/bin/time (Debian package "time"). Work files go to
# $BENCH_DIR (default: a temporary directory, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${1:-1000000}
dir=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
[ -x /usr/bin/time ] || { echo "bench-import: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

go build -o "$dir/pressroom" ./cmd/pressroom
file="$dir/articles-$lines.jsonl"
db="$dir/bench.db"
rm -f "$db" "$db-wal" "$db-shm"

if [ ! -s "$file" ]; then
  echo "generating $lines lines into $file" >&2
  awk -v n="$lines" '
  function twod(x) { return (x < 10 ? "0" x : "" x) }
  # date of day d counted from 2020-01-01
  function ymd(d,   y, m, ml) {
    y = 2020
    while (1) {
      yl = ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 366 : 365
      if (d < yl) break
      d -= yl; y++
    }
    split("31 28 31 30 31 30 31 31 30 31 30 31", ml, " ")
    if (yl == 366) ml[2] = 29
    for (m = 1; d >= ml[m]; m++) d -= ml[m]
    return y "-" twod(m) "-" twod(d + 1)
  }
  BEGIN {
    split("politics world economy defense science society sport pressreview", sec, " ")
    body = ""
    for (k = 0; k < 12; k++)
      body = body "<p>MOSCOW, January 29. /TASS/. Russian Foreign Minister Sergey Lavrov held talks on Sunday, the ministry said. Стороны обсудили двусторонние отношения.</p>"
    for (i = 0; i < n; i++) {
      s = sec[i % 8 + 1]
      id = sprintf("%08d", i)
      mins = i
      ts = ymd(int(mins / 1440)) "T" twod(int(mins % 1440 / 60)) ":" twod(mins % 60) ":00+03:00"
      img = ""
      if (i % 2 == 0)
        img = ",\"image\":{\"url\":\"https://tass.example/img/" id ".jpg\",\"caption\":\"Sergey Lavrov\",\"credit\":\"TASS\",\"width\":1200,\"height\":800,\"type\":\"image/jpeg\",\"length\":183244}"
      printf "{\"id\":\"%s\",\"url\":\"https://tass.example/%s/%s\",\"section\":\"%s\",\"title\":\"Лавров обсудил с госсекретарём США ситуацию, выпуск %d\",\"lead\":\"Министр иностранных дел России провёл телефонный разговор с коллегой.\",\"body_html\":\"%s\",\"dateline\":\"MOSCOW\",\"authors\":[\"Ivan Petrov\",\"Anna Smirnova\"],\"published_at\":\"%s\"%s,\"related\":[{\"title\":\"Earlier talks\",\"url\":\"https://tass.example/politics/1\"}],\"tags\":[\"russia\",\"usa\"],\"top_story\":%s}\n",
        id, s, id, s, i, body, ts, img, (i % 25 == 0 ? "true" : "false")
    }
  }' > "$file"
fi
echo "file: $(du -h "$file" | cut -f1), $lines lines" >&2

bin="$dir/pressroom"
PRESSROOM_DB="$db"; export PRESSROOM_DB
"$bin" migrate >/dev/null
"$bin" sections add politics "Russian Politics & Diplomacy" --position 1 >/dev/null
"$bin" sections add world "World" --position 2 >/dev/null
"$bin" sections add economy "Business & Economy" --position 3 >/dev/null
"$bin" sections add defense "Military & Defense" --position 4 >/dev/null
"$bin" sections add science "Science & Space" --position 5 >/dev/null
"$bin" sections add society "Society & Culture" --position 6 >/dev/null
"$bin" sections add sport "Sport" --position 7 >/dev/null
"$bin" sections add pressreview "Press Review" --position 8 >/dev/null

log="$dir/time.log"
start=$(date +%s.%N)
/usr/bin/time -v "$bin" import "$file" 2>"$log"
end=$(date +%s.%N)
grep -E "Maximum resident set size|Elapsed \(wall clock\)|User time|System time|Percent of CPU" "$log"
awk -v n="$lines" -v s="$start" -v e="$end" 'BEGIN { printf "rate: %.0f articles/s (wall, including open, checkpoint and close)\n", n / (e - s) }'
echo "database: $(du -h "$db" | cut -f1); load average before/after: see uptime: $(cut -d" " -f1-3 /proc/loadavg)"

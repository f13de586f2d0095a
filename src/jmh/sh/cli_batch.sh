#!/usr/bin/env bash
# The fdkit tool against xargs and GNU parallel: N `true` commands, 4 at a time, whole process (JVM start-up
# included), wall time from the shell and CPU (user + system of the tool and its children) from /usr/bin/time.
# Rounds interleave the tools, the order rotating, so that each meets the same machine. Prints one JSON line
# per tool and size, as the C baselines do (one op = one batch; CPU in ns, as theirs; the report takes the median round). GNU parallel is optional: without it its
# lines are left out and the report says "not run".
#   src/jmh/sh/cli_batch.sh [--quick]      (run from the repository root, after `mvn package`)
set -euo pipefail
sizes=(500 20000) rounds=3
[ "${1:-}" = --quick ] && sizes=(500) rounds=3
tools=(fdkit xargs); command -v parallel >/dev/null && tools+=(parallel)
[ -x /usr/bin/time ] || { echo "cli_batch: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

run_tool() { # tool commands-file -> "wall cpu" in seconds
  local tool=$1 file=$2 start end
  start=$(date +%s%N)
  case "$tool" in
    fdkit) /usr/bin/time -o "$work/t" -f '%U %S' bin/fdkit run -q -j 4 < "$file" > /dev/null ;;
    xargs) /usr/bin/time -o "$work/t" -f '%U %S' xargs -P 4 -I{} sh -c {} < "$file" > /dev/null ;;
    parallel) /usr/bin/time -o "$work/t" -f '%U %S' parallel --will-cite -j 4 < "$file" > /dev/null ;;
  esac
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000 )) $(awk '{ printf "%d", ($1 + $2) * 1e6 }' "$work/t")" # microseconds
}

bin/fdkit run -q -n 50 -- true > /dev/null # first run: creates the class-data archive, not measured
for n in "${sizes[@]}"; do
  seq "$n" | sed "s/.*/true/" > "$work/commands"
  declare -A wall=() cpu=()
  for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < ${#tools[@]}; k++)); do
      tool=${tools[$(( (k + r) % ${#tools[@]} ))]}
      read -r w c < <(run_tool "$tool" "$work/commands")
      wall[$tool]+="$w " cpu[$tool]+="$c "
    done
  done
  for tool in "${tools[@]}"; do
    awk -v name="cli_batch.${tool}_$n" -v walls="${wall[$tool]}" -v cpus="${cpu[$tool]}" -v n="$n" 'BEGIN {
      k = split(walls, w, " "); split(cpus, c, " ")
      for (i = 1; i <= k; i++) { w[i] /= 1e6; c[i] /= 1e6; sum += w[i]; csum += c[i] }
      mean = sum / k; for (i = 1; i <= k; i++) sq += (w[i] - mean) ^ 2
      best = w[1]; for (i = 2; i <= k; i++) if (w[i] < best) best = w[i]; runs = ""; cr = ""
      for (i = 1; i <= k; i++) { runs = runs (i > 1 ? "," : "") sprintf("%.4f", w[i]); cr = cr (i > 1 ? "," : "") sprintf("%.0f", c[i] * 1e9) }
      printf "{\"name\":\"%s\",\"unit\":\"s/op\",\"score\":%.4f,\"error\":%.4f,\"mean\":%.4f,\"cpu\":%.0f,\"runs\":[%s],\"cpu_runs\":[%s],\"settings\":\"%d `true` commands, 4 at a time, whole process; median of %d interleaved rounds\"}\n",
        name, best, (k > 1 ? sqrt(sq / (k - 1)) : 0), mean, csum / k * 1e9, runs, cr, n, k
    }'
  done
  unset wall cpu
done

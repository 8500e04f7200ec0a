#!/usr/bin/env bash
# CPU the engine spends on healthchecks alone: 10 idle Redis containers for 20 s, without a healthcheck and with the
# one berth gives services (redis-cli ping every 10 s; every 2 s before). Prints each in ticks (100 ticks = 1 CPU second).
set -euo pipefail
busy_ticks() { # CPU ticks of the whole machine during 20 s
  read -r _ u1 n1 s1 _ _ q1 sq1 _ </proc/stat
  sleep 20
  read -r _ u2 n2 s2 _ _ q2 sq2 _ </proc/stat
  echo $((u2 + n2 + s2 + q2 + sq2 - u1 - n1 - s1 - q1 - sq1))
}
run10() { local ids=(); for _ in $(seq 10); do ids+=("$(docker run -d --rm "$@" berth/redis:7)"); done; sleep 3; busy_ticks; docker rm -f "${ids[@]}" >/dev/null; }
without=$(run10 --no-healthcheck)
every10=$(run10 --health-cmd 'redis-cli ping' --health-interval 10s)
every2=$(run10 --health-cmd 'redis-cli ping' --health-interval 2s)
echo "10 Redis, 20 s: ${without} ticks without a healthcheck, ${every10} with one every 10 s (berth's), ${every2} every 2 s"

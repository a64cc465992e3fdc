#!/usr/bin/env bash
# Startup, memory and syscall figures of the release binary, side by side with a bare clap
# binary, curl and (when installed) gh / aws / gcloud. Loopback only. Needs hyperfine,
# strace, openssl, python3 and GNU time (Debian: hyperfine strace openssl time).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --example bare_clap
# The linker map shows whether perf/symbol-order.txt still names this build's functions
# (extra `cargo rustc` arguments leave the binary byte for byte as `cargo build` makes it).
cargo rustc --release --quiet --bin claude -- -C "link-arg=-Wl,-Map=$work/claude.map"
bin=target/release/claude
bare=target/release/examples/bare_clap

# A loopback HTTPS stand-in for the Anthropic API, with its own throwaway CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null
scripts/models-stand-in.py "$work/srv.pem" "$work/srv.key" >"$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

key=sk-ant-api03-BENCHMARKBENCHMARK00-WXYZ
export CLAUDE_CA_BUNDLE="$work/ca.pem" ANTHROPIC_BASE_URL="https://127.0.0.1:$port"
source scripts/offline-states.sh
offline_states "$work" "$bin" "$key"

env_status="env -u CLAUDE_PASSPHRASE CLAUDE_CONFIG_DIR=$work/empty ANTHROPIC_API_KEY=$key $bin --auth-status"
enc_status="env -u CLAUDE_PASSPHRASE CLAUDE_CONFIG_DIR=$work/enc $bin --auth-status"
kc_status="env CLAUDE_CONFIG_DIR=$work/kc $bin --auth-status"
session_status="env CLAUDE_CONFIG_DIR=$work/session $bin --auth-status"
bedrock_status="env CLAUDE_CONFIG_DIR=$work/empty HOME=$work/bedrock CLAUDE_CODE_USE_BEDROCK=1 AWS_PROFILE=dev $bin --auth-status"
vertex_status="env CLAUDE_CONFIG_DIR=$work/empty CLAUDE_CODE_USE_VERTEX=1 GOOGLE_APPLICATION_CREDENTIALS=$work/vertex/adc.json ANTHROPIC_VERTEX_PROJECT_ID=offline-project CLOUD_ML_REGION=us-east5 $bin --auth-status"
test_key="env CLAUDE_CONFIG_DIR=$work/empty ANTHROPIC_API_KEY=$key $bin --test-api-key"
curl_cmd="curl -s --cacert $work/ca.pem -H x-api-key:$key https://127.0.0.1:$port/v1/models"

echo "== binary size"
ls -l "$bin" | awk '{printf "%s bytes (%.1f MiB)\n", $5, $5/1048576}'

echo "== offline functions packed together (build.rs, perf/symbol-order.txt)"
listed=$(grep -vc '^#' perf/symbol-order.txt)
found=$(grep -o '(\.text\.[^)]*)' "$work/claude.map" | sed -E 's/^\(\.text\.(unlikely\.|hot\.|startup\.)?//; s/\)$//' |
  grep -cxFf <(grep -v '^#' perf/symbol-order.txt) || true)
echo "$found of $listed listed functions are in this build"
# A stale list silently costs the memory the ordering saves, so the figures below would not
# be those of the layout the repository promises: stop instead of measuring the wrong thing.
if [ "$found" -lt $((listed * 9 / 10)) ]; then
  echo "error: perf/symbol-order.txt is stale: $found of its $listed functions are in this build (under 90 %)" >&2
  echo "hint: run scripts/symbol-order.sh (needs valgrind), commit the new list, then run scripts/bench.sh again" >&2
  exit 1
fi

echo "== startup (hyperfine)"
# The baseline runs through `env` too, so both pay for the same extra exec.
bare_cmd="env CLAUDE_CONFIG_DIR=$work/empty $bare --auth-status"
cmds=("$bare_cmd" "$env_status" "$enc_status" "$kc_status" "$session_status" "$bedrock_status" "$vertex_status" "$bin --help" "$test_key" "$curl_cmd")
command -v gh >/dev/null && cmds+=("gh auth status")
command -v aws >/dev/null && aws --version >/dev/null 2>&1 && cmds+=("aws configure list")
command -v gcloud >/dev/null && cmds+=("gcloud auth list")
hyperfine -N --warmup 5 --min-runs 50 -i --export-markdown "$work/bench.md" "${cmds[@]}" >/dev/null
cat "$work/bench.md"

echo "== peak RSS (GNU time, KiB)"
for c in "${cmds[@]}"; do
  rss=$(/usr/bin/time -f %M sh -c "exec $c >/dev/null 2>&1" 2>&1 | tail -1 || true)
  printf '%8s  %s\n' "$rss" "${c//$work/\$TMP}"
done

echo "== syscalls of --auth-status (socket/connect must be 0; no certificate files opened)"
for c in "$env_status" "$enc_status" "$kc_status" "$session_status" "$bedrock_status" "$vertex_status"; do
  strace -f -qq -e trace=socket,connect,openat -o "$work/trace" sh -c "exec $c" >/dev/null 2>&1 || true
  sockets=$(grep -cE 'socket\(|connect\(' "$work/trace" || true)
  certs=$(grep -ciE 'cert|\.pem|ssl' "$work/trace" || true)
  printf 'socket/connect: %s, certificate opens: %s  (%s)\n' "$sockets" "$certs" "${c//$work/\$TMP}"
done

# The audit log's own figures (100k-line listing, 1M-line --verify, one append).
scripts/bench-audit.sh

#!/usr/bin/env bash
# Regenerates perf/symbol-order.txt: the functions the offline commands (`--auth-status` in
# its common states, `--version`, `--help`) execute, which build.rs asks the linker to place
# next to each other. Why: the kernel maps text in 64 KiB windows around every page fault,
# so code spread across the binary costs far more resident memory than the code itself.
#
# Runs the release binary under callgrind (Debian: valgrind), reads the linker map of that
# very binary, and writes the mangled names of the executed functions. Run it after changes
# to the offline path or to dependency versions, then check the gain with scripts/bench.sh.
# Stale names are harmless: the linker skips symbols it does not find.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The map comes from the binary itself, so addresses and names match. `cargo rustc` extra
# arguments do not enter the crate hashes, so the names are those of a plain release build.
cargo rustc --release --locked --quiet --bin claude -- -C "link-arg=-Wl,-Map=$work/claude.map"
bin=$PWD/target/release/claude

key=sk-ant-api03-SYMBOLORDERSYMBOLORDER00-WXYZ
state() { mkdir -p "$work/$1" && chmod 700 "$work/$1"; }
state empty
state enc
echo '{"authentication":{"storage":{"type":"encrypted-file","encryptionKey":"user-derived-key"}}}' >"$work/enc/config.json"
chmod 600 "$work/enc/config.json"
# --set-api-key checks the key online: answer it from a loopback stand-in.
scripts/models-stand-in.py >"$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
echo "$key" | env CLAUDE_CONFIG_DIR="$work/enc" CLAUDE_PASSPHRASE=order ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
  "$bin" --set-api-key - -q
kill "$server" && server=
state seed
cp tests/fixtures/seed-config.json "$work/seed/config.json"
chmod 600 "$work/seed/config.json"
# The keychain's index as `--set-api-key` writes it. Status reads only this file, so the
# trace needs no Secret Service.
state keychain
echo '{"items":{"api-key":{"fingerprint":"sk-ant-api03-…WXYZ","createdAt":1764000000}}}' \
  >"$work/keychain/credentials.json"
chmod 600 "$work/keychain/credentials.json"
# A live login's metadata as `--login` writes it (status never reads the tokens).
state session
now=$(date +%s)
cat >"$work/session/sessions.json" <<JSON
{"sessions":{"anthropic":{"id":"order","provider":"anthropic","account":"dev@example.com",
"scopes":["user:inference"],"createdAt":$now,"lastUsedAt":$now,"accessExpiresAt":$((now + 3600)),
"hasRefreshToken":true,"accessFingerprint":"sk-ant-oat01-…WXYZ","clientId":"order",
"tokenEndpoint":"https://console.anthropic.com/v1/oauth/token","revocationEndpoint":null,"issuer":null}}}
JSON
chmod 600 "$work/session/sessions.json"

n=0
trace() { # trace STATE_DIR "VAR=VALUE ..." ARGS...
  n=$((n + 1))
  # shellcheck disable=SC2086 # the variables are meant to split into words
  env -i PATH="$PATH" HOME="$work" CLAUDE_CONFIG_DIR="$work/$1" $2 \
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" "$bin" "${@:3}" >/dev/null 2>&1 || true
}
trace empty "" --version
trace empty "" --help
trace empty "" --auth-status
trace empty "ANTHROPIC_API_KEY=$key" --auth-status
trace empty "ANTHROPIC_API_KEY=$key" --auth-status --json
trace enc "" --auth-status
trace seed "DEV_API_KEY=$key CLAUDE_ENV=development" --auth-status
trace keychain "" --auth-status
trace session "" --auth-status
trace session "" --list-sessions

python3 - "$work/claude.map" "$bin" "$work"/cg.* >perf/symbol-order.txt <<'PY'
import bisect, re, sys
map_path, binary, traces = sys.argv[1], sys.argv[2], sys.argv[3:]

# Input sections of .text from the lld map: "VMA LMA Size Align  file:(.text.SYMBOL)".
sections = []
for line in open(map_path):
    m = re.match(r"\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\((\.text\.\S+)\)$", line)
    if m:
        sections.append((int(m[1], 16), int(m[2], 16), m[3]))
sections.sort()
starts = [s[0] for s in sections]

# Functions callgrind saw executing inside the binary (stripped, so named by address).
order, seen = [], set()
for path in traces:
    # Callgrind names each object and function once, "(id) name", then uses "(id)" alone.
    in_binary, objects, functions = False, {}, {}
    for line in open(path):
        m = re.match(r"(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.strip())
        if not m:
            continue
        kind, ident, name = m.groups()
        table = objects if kind.endswith("ob") else functions
        if name:
            table[ident] = name
        if kind == "ob":
            in_binary = objects.get(ident) == binary
        elif kind == "fn" and in_binary:
            m = re.fullmatch(r"0x([0-9a-f]+)", functions.get(ident, ""))
            if not m:
                continue
            addr = int(m[1], 16)
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and addr < sections[i][0] + max(sections[i][1], 1):
                symbol = re.sub(r"^\.text\.(unlikely\.|hot\.|startup\.)?", "", sections[i][2])
                if symbol not in seen:
                    seen.add(symbol)
                    order.append((sections[i][0], symbol))

print("# Generated by scripts/symbol-order.sh: the functions of the offline commands, placed")
print("# together by the linker (see build.rs and docs/performance.md). Do not edit by hand.")
# Keep the compiler's own layout among them, which already puts callers near callees.
for _, symbol in sorted(order):
    print(symbol)
total = sum(sections[bisect.bisect_left(starts, a)][1] for a, _ in order)
print(f"{len(order)} functions, {total / 1024:.0f} KiB of text", file=sys.stderr)
PY
echo "wrote perf/symbol-order.txt"

#!/usr/bin/env bash
# Audit log figures (release build): `--show-auth-logs` over 100k entries (bar: 100 ms),
# `--verify` over 1M (bar: 2 s), one append (bar: 1 ms), and `--auth-status` with auditing
# on beside off. Fixtures come from examples/audit_fixture.rs (a valid chain signed with a
# key it puts in an encrypted-file store); nothing in the `claude` binary writes them.
# Runs alone, or from scripts/bench.sh. Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin claude --example audit_fixture
bin=target/release/claude
fixture=target/release/examples/audit_fixture
export CLAUDE_PASSPHRASE=benchmark-passphrase-0123

"$fixture" "$work/k100" 100000
"$fixture" "$work/m1" 1000000
mkdir -p "$work/off" "$work/on" && chmod 700 "$work/off" "$work/on"
cp "$work/k100/config.json" "$work/on/"
echo '{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}' >"$work/off/config.json"
chmod 600 "$work/on/config.json" "$work/off/config.json"
# The first audited command creates the key; what is measured is every later one.
env CLAUDE_CONFIG_DIR="$work/on" "$bin" --auth-status >/dev/null 2>&1 || true

echo "== audit log (hyperfine)"
hyperfine -N --warmup 3 --min-runs 20 -i --export-markdown "$work/audit.md" \
  "env CLAUDE_CONFIG_DIR=$work/k100 $bin --show-auth-logs" \
  "env CLAUDE_CONFIG_DIR=$work/k100 $bin --show-auth-logs --json" \
  "env CLAUDE_CONFIG_DIR=$work/k100 $bin --show-auth-logs --since 1h" \
  "env CLAUDE_CONFIG_DIR=$work/off $bin --auth-status" \
  "env CLAUDE_CONFIG_DIR=$work/on $bin --auth-status" >/dev/null
hyperfine -N --warmup 1 --runs 5 --export-markdown "$work/verify.md" \
  "env CLAUDE_CONFIG_DIR=$work/m1 $bin --show-auth-logs --verify" >/dev/null
cat "$work/audit.md" "$work/verify.md" | sed "s|$work|\$TMP|g"

echo "== one append"
# The append itself (audit lock, tail read, retention check, write, fdatasync), in the
# state directory's file system; the key fetch of a logged command comes on top of it
# (a keychain call, or one Argon2id run for a passphrase store).
"$fixture" --time-append "$work/append" 500

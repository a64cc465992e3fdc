#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests, with the keychain
# tests against a real Secret Service (gnome-keyring on a private D-Bus session bus).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} for the keychain tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "the keychain tests need: ${need[*]} (Debian: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

# The Windows code (the managed settings' ACL check and every cfg(windows) path) is linted
# from here too: clippy for x86_64-pc-windows-gnu needs that target's std and the MinGW C
# compiler (ring's build script compiles C even for a check). About 2.5 min on a cold
# target directory, seconds when warm.
if command -v rustup >/dev/null && rustup target list --installed | grep -x x86_64-pc-windows-gnu >/dev/null \
  && command -v x86_64-w64-mingw32-gcc >/dev/null; then
  cargo clippy --locked --target x86_64-pc-windows-gnu --all-targets -- -D warnings
else
  echo "skipped: clippy for Windows (needs \`rustup target add x86_64-pc-windows-gnu\` and x86_64-w64-mingw32-gcc; Debian: gcc-mingw-w64-x86-64-win32)" >&2
fi

cargo build --locked --tests --bins

# A private session bus and an unlocked keyring; both end with the command.
dbus-run-session -- sh -c '
  set -e
  export XDG_DATA_HOME="$(mktemp -d)"
  printf %s "ci-keyring-pass" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  CLAUDE_TEST_REQUIRE_KEYCHAIN=1 cargo test --locked
'

# The release build links differently (fat LTO; build.rs's function order and DT_RELR): it must link,
# and an unconfigured machine must get "not authenticated" (exit 4) from it too.
cargo build --locked --release --bin claude
status=0
env -i PATH="$PATH" HOME="$(mktemp -d)" target/release/claude --auth-status >/dev/null || status=$?
if [ "$status" != 4 ]; then
  echo "release binary: --auth-status on an unconfigured machine exited $status, expected 4" >&2
  exit 1
fi

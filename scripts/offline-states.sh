# Sourced by bench.sh and symbol-order.sh: the state directories the offline commands are
# measured and traced in. `offline_states WORK BIN KEY` makes, under WORK:
#   empty/     nothing stored
#   enc/       KEY in the encrypted file (passphrase "offline-passphrase"); --set-api-key checks KEY
#              online, so ANTHROPIC_BASE_URL (and CLAUDE_CA_BUNDLE) must name a stand-in
#   kc/        KEY in the keychain: only the index `--set-api-key` writes, which is all
#              that status reads, so no Secret Service is needed
#   session/   a live login's metadata as `--login` writes it (status never reads tokens)
#   seed/      the seed document's configuration (needs DEV_API_KEY and CLAUDE_ENV)
offline_states() {
  local work=$1 bin=$2 key=$3 dir now
  for dir in empty enc kc session seed; do
    mkdir -p "$work/$dir" && chmod 700 "$work/$dir"
  done
  echo '{"authentication":{"storage":{"type":"encrypted-file","encryptionKey":"user-derived-key"}}}' \
    >"$work/enc/config.json"
  echo "$key" | CLAUDE_CONFIG_DIR="$work/enc" CLAUDE_PASSPHRASE=offline-passphrase "$bin" --set-api-key - -q >/dev/null
  echo "{\"items\":{\"api-key\":{\"fingerprint\":\"sk-ant-api03-…${key: -4}\",\"createdAt\":1764000000}}}" \
    >"$work/kc/credentials.json"
  now=$(date +%s)
  cat >"$work/session/sessions.json" <<JSON
{"sessions":{"anthropic":{"id":"offline","provider":"anthropic","account":"dev@example.com",
"scopes":["user:inference"],"createdAt":$now,"lastUsedAt":$now,"accessExpiresAt":$((now + 3600)),
"hasRefreshToken":true,"accessFingerprint":"sk-ant-oat01-…WXYZ","clientId":"offline",
"tokenEndpoint":"https://console.anthropic.com/v1/oauth/token","revocationEndpoint":null,"issuer":null}}}
JSON
  cp tests/fixtures/seed-config.json "$work/seed/config.json"
  chmod 600 "$work/enc/config.json" "$work/kc/credentials.json" "$work/session/sessions.json" \
    "$work/seed/config.json"
}

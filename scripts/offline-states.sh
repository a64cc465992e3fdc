# Sourced by bench.sh and symbol-order.sh: the state directories the offline commands are
# measured and traced in. `offline_states WORK BIN KEY` makes, under WORK:
#   empty/     nothing stored
#   enc/       KEY in the encrypted file (passphrase "offline-passphrase"); --set-api-key checks KEY
#              online, so ANTHROPIC_BASE_URL (and CLAUDE_CA_BUNDLE) must name a stand-in
#   kc/        KEY in the keychain: only the index `--set-api-key` writes, which is all
#              that status reads, so no Secret Service is needed
#   session/   a live login's metadata as `--login` writes it (status never reads tokens)
#   seed/      the seed document's configuration (needs DEV_API_KEY and CLAUDE_ENV)
#   bedrock/   a HOME whose ~/.aws/config has an IAM Identity Center profile `dev` with a live
#              cached SSO token (needs HOME=bedrock CLAUDE_CODE_USE_BEDROCK=1 AWS_PROFILE=dev)
#   vertex/    a gcloud-style authorized_user file, vertex/adc.json (needs
#              CLAUDE_CODE_USE_VERTEX=1 GOOGLE_APPLICATION_CREDENTIALS ANTHROPIC_VERTEX_PROJECT_ID)
offline_states() {
  local work=$1 bin=$2 key=$3 dir now
  for dir in empty enc kc session seed bedrock vertex; do
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
  mkdir -p "$work/bedrock/.aws/sso/cache"
  cat >"$work/bedrock/.aws/config" <<INI
[profile dev]
sso_session = dev
sso_account_id = 111122223333
sso_role_name = Developer
region = us-east-1

[sso-session dev]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
INI
  cat >"$work/bedrock/.aws/sso/cache/$(printf %s dev | sha1sum | cut -c1-40).json" <<JSON
{"startUrl":"https://example.awsapps.com/start","region":"us-east-1","accessToken":"offline-sso-token",
"expiresAt":"$(date -u -d @$((now + 3600)) +%Y-%m-%dT%H:%M:%SZ)"}
JSON
  cat >"$work/vertex/adc.json" <<JSON
{"type":"authorized_user","client_id":"offline.apps.googleusercontent.com","client_secret":"offline",
"refresh_token":"offline-refresh-token"}
JSON
  chmod 600 "$work/bedrock/.aws/config" "$work/bedrock/.aws/sso/cache/"*.json "$work/vertex/adc.json"
  chmod 600 "$work/enc/config.json" "$work/kc/credentials.json" "$work/session/sessions.json" \
    "$work/seed/config.json"
}

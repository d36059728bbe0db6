#!/usr/bin/env bash
# Password recovery against a running `latchkey serve --dev`, with curl and jq only.
# Usage: LATCHKEY_ADMIN_TOKEN=… docs/recovery-with-curl.sh [base-url] [data-dir]
set -euo pipefail
B=${1:-http://127.0.0.1:8080}
DATA=${2:-./latchkey-data}
AUTH="Authorization: SSWS ${LATCHKEY_ADMIN_TOKEN:?set LATCHKEY_ADMIN_TOKEN to the admin token of the server}"
REDIRECT=http://127.0.0.1:9999/callback
LOGIN=jane-$RANDOM@example.com

# 1. A user and a public OAuth client, through the management API.
curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$B/api/v1/users?activate=true" -d "{
  \"profile\": {\"login\": \"$LOGIN\", \"email\": \"$LOGIN\", \"firstName\": \"Jane\", \"lastName\": \"Doe\"},
  \"credentials\": {\"password\": {\"value\": \"correct horse battery staple orbit\"}}}" >/dev/null
CLIENT=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$B/oauth2/v1/clients" -d "{
  \"client_name\": \"curl\", \"redirect_uris\": [\"$REDIRECT\"], \"token_endpoint_auth_method\": \"none\"}" | jq -r .client_id)

# 2. A transaction with PKCE (S256), and its state handle.
VERIFIER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -binary -sha256 | base64 | tr '+/' '-_' | tr -d '=')
interact() {
  curl -sf "$B/oauth2/default/v1/interact" -d client_id="$CLIENT" -d scope='openid email' -d redirect_uri="$REDIRECT" \
    -d code_challenge="$CHALLENGE" -d code_challenge_method=S256 -d state=my-app-state | jq -r .interaction_handle
}
state_handle() {
  curl -s "$B/idp/idx/introspect" -H 'Content-Type: application/json' -d "{\"interactionHandle\":\"$1\"}" | jq -r .stateHandle
}
idx() { curl -s "$B/idp/idx/$1" -H 'Content-Type: application/json' -d "$2"; }
SH=$(state_handle "$(interact)")

# 3. Forgot password? → Email or Username → Email: the code is mailed to the mailbox folder.
idx recover "{\"stateHandle\":\"$SH\"}" >/dev/null
idx identify "{\"stateHandle\":\"$SH\",\"identifier\":\"$LOGIN\"}" >/dev/null
idx challenge "{\"stateHandle\":\"$SH\",\"authenticator\":{\"id\":\"aut0lkemail000000001\"}}" >/dev/null
sleep 2
MAIL=$(ls "$DATA"/mailbox/*.eml | tail -n 1)
CODE=$(grep -ohE '\b[0-9]{6}\b' "$MAIL" | tail -n 1)
echo "the email $MAIL carries the code $CODE"

# 4. The code, then a new password: the answer carries an interaction code for the token call.
idx challenge/answer "{\"stateHandle\":\"$SH\",\"credentials\":{\"passcode\":\"$CODE\"}}" | jq -r '.remediation.value[0].name'
IC=$(idx challenge/answer "{\"stateHandle\":\"$SH\",\"credentials\":{\"passcode\":\"a new passphrase for jane\"}}" \
  | jq -r '.successWithInteractionCode.value[] | select(.name=="interaction_code") | .value')
curl -sf "$B/oauth2/default/v1/token" -d grant_type=interaction_code -d client_id="$CLIENT" -d interaction_code="$IC" \
  -d code_verifier="$VERIFIER" -d redirect_uri="$REDIRECT" | jq -r '"tokens: " + .token_type + " " + .scope'

# 5. Sign in with the new password.
SH=$(state_handle "$(interact)")
idx identify "{\"stateHandle\":\"$SH\",\"identifier\":\"$LOGIN\",\"credentials\":{\"passcode\":\"a new passphrase for jane\"}}" \
  | jq -r 'if .successWithInteractionCode then "signed in with the new password" else . end'

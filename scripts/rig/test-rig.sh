#!/usr/bin/env bash
# test-rig.sh DIR - check a running start-postfix.sh instance end to end with
# swaks and openssl: sends on both ports and reads the delivered files back.
# Prints PASS/FAIL per check; exit status 0 only when every check passes.
set -uo pipefail
DIR=${1:?usage: test-rig.sh DIR}
# shellcheck disable=SC1091
. "$DIR/env"
for tool in swaks openssl; do
  command -v "$tool" >/dev/null || { echo "test-rig: $tool not found (apt-get install -y swaks libio-socket-ssl-perl openssl)" >&2; exit 2; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
show() { tail -n "${2:-6}" <<<"$1" | sed 's/^/    /'; }

# Prints the .eml delivered to recipient $1 (waits up to 10 s). The .meta
# is renamed into place after the .eml, so its presence means both are whole.
delivered() {
  local meta
  for _ in $(seq 100); do
    meta=$(grep -lx "recipient=$1" "$RIG_MAILDIR"/*.meta 2>/dev/null | head -n 1)
    if [ -n "$meta" ]; then echo "${meta%.meta}.eml"; return 0; fi
    sleep 0.1
  done
  return 1
}
smtp()   { swaks --server "$RIG_HOST" --port "$RIG_SMTP_PORT" "$@" 2>&1; }
submit() { swaks --server "$RIG_HOST" --port "$RIG_SUBMIT_PORT" "$@" 2>&1; }
TLS=(--tls --tls-verify --tls-ca-path "$RIG_CA")
tag=$$.$(date +%s)

# A CRLF message with a line that starts with a dot (dot-stuffing both ways)
# and no final CRLF: swaks adds CRLF.CRLF itself, so a final CRLF in the file
# would arrive as an extra empty line.
printf 'From: sender@example.com\r\nTo: rcpt@example.net\r\nSubject: rig %s\r\nMessage-ID: <%s@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n.leading dot\r\nlast line' \
  "$tag" "$tag" > "$WORK/msg.eml"
# Postfix stores LF line ends: what should arrive.
{ cat "$WORK/msg.eml"; printf '\r\n'; } | tr -d '\r' > "$WORK/expected"

# 1. plain SMTP: send, then the delivered bytes equal what was sent
rcpt="plain.$tag@example.net"
out=$(smtp --from sender@example.com --to "$rcpt" --data @"$WORK/msg.eml")
if grep -q '^<-  250 2.0.0 Ok: queued' <<<"$out" && f=$(delivered "$rcpt") && cmp -s "$WORK/expected" "$f"
then pass "plain SMTP on $RIG_SMTP_PORT: delivered bytes identical"; else fail "plain SMTP on $RIG_SMTP_PORT"; show "$out"; fi

# 2, 3. submission: STARTTLS, AUTH PLAIN and LOGIN, readback, sasl_username
for mech in PLAIN LOGIN; do
  rcpt="auth-$mech.$tag@example.org"
  out=$(submit "${TLS[@]}" --auth "$mech" --auth-user "$RIG_USER" --auth-password "$RIG_PASS" \
    --from sender@example.com --to "$rcpt" --data @"$WORK/msg.eml")
  if grep -q '^<~  235 ' <<<"$out" && grep -q '^<~  250 2.0.0 Ok: queued' <<<"$out" \
    && f=$(delivered "$rcpt") && cmp -s "$WORK/expected" "$f" \
    && grep -qE "^sasl_username=$RIG_USER(@|$)" "${f%.eml}.meta"
  then pass "STARTTLS + AUTH $mech on $RIG_SUBMIT_PORT: delivered bytes identical"; else fail "STARTTLS + AUTH $mech"; show "$out" 8; fi
done

# 4. a wrong password is refused with 535
out=$(submit "${TLS[@]}" --auth PLAIN --auth-user "$RIG_USER" --auth-password not-the-password \
  --from sender@example.com --to x@example.org)
if grep -q '^<~\* 535 ' <<<"$out"; then pass "wrong password: $(grep -m1 -o '535 .*' <<<"$out")"; else fail "wrong password"; show "$out"; fi

# 5. relaying without AUTH on the submission port is refused with 554
out=$(submit "${TLS[@]}" --from sender@example.com --to x@example.org)
if grep -q '^<~\* 554 5.7.1.*Relay access denied' <<<"$out"; then pass "no AUTH on $RIG_SUBMIT_PORT: 554 relay denied"; else fail "no AUTH relay"; show "$out"; fi

# 6. no STARTTLS on the submission port: 530, and AUTH is not even offered
out=$(submit --from sender@example.com --to x@example.org)
if grep -q '^<\*\* 530 5.7.0 Must issue a STARTTLS' <<<"$out" && ! grep -q 'AUTH' <<<"$out"
then pass "no STARTTLS on $RIG_SUBMIT_PORT: 530, AUTH not offered"; else fail "no STARTTLS"; show "$out"; fi

# 7. the null sender arrives as an empty sender
rcpt="null.$tag@example.net"
out=$(smtp --from '<>' --to "$rcpt" --data @"$WORK/msg.eml")
if f=$(delivered "$rcpt") && grep -qx 'sender=' "${f%.eml}.meta"
then pass "null sender delivered with sender= empty"; else fail "null sender"; show "$out"; fi

# 8. the discard domain is accepted and not stored
rcpt="gone.$tag@$RIG_DISCARD_DOMAIN"
out=$(smtp --from sender@example.com --to "$rcpt" --data @"$WORK/msg.eml")
sleep 1
if grep -q '^<-  250 2.0.0 Ok: queued' <<<"$out" && ! grep -qx "recipient=$rcpt" "$RIG_MAILDIR"/*.meta
then pass "discard domain: accepted, nothing stored"; else fail "discard domain"; show "$out"; fi

# 9. a ~19 KB S/MIME signed-then-encrypted message survives the trip: the
#    delivered file is identical and still decrypts and verifies.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rig test/emailAddress=sender@example.com" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
{
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
  for i in $(seq 150); do printf 'line %03d of the statement, padded to a realistic width....\r\n' "$i"; done
} > "$WORK/inner.eml"
rcpt="smime.$tag@example.net"
openssl cms -sign -binary -nodetach -in "$WORK/inner.eml" -signer "$WORK/cert.pem" -inkey "$WORK/key.pem" \
  -outform SMIME 2>/dev/null \
  | openssl cms -encrypt -aes256 -binary -from sender@example.com -to "$rcpt" -subject "rig S/MIME $tag" \
    "$WORK/cert.pem" 2>/dev/null \
  | sed 's/\r*$/\r/' | head -c -2 > "$WORK/smime.eml"
out=$(smtp --from sender@example.com --to "$rcpt" --data @"$WORK/smime.eml")
if f=$(delivered "$rcpt") \
  && cmp -s <({ cat "$WORK/smime.eml"; printf '\r\n'; } | tr -d '\r') "$f" \
  && openssl cms -decrypt -in "$f" -recip "$WORK/cert.pem" -inkey "$WORK/key.pem" 2>/dev/null \
    | openssl cms -verify -CAfile "$WORK/cert.pem" -out /dev/null 2>/dev/null
then pass "S/MIME ($(wc -c < "$f") bytes): delivered bytes identical, decrypts and verifies"; else fail "S/MIME round trip"; show "$out"; fi

echo "failures: $failures"
exit $((failures > 0))

#!/usr/bin/env bash
# start-postfix.sh DIR - run a private Postfix instance on loopback as the
# real MTA our integration tests deliver to (it stands in for PowerMTA,
# Momentum and friends, which cannot run here).
#
#   sudo scripts/rig/start-postfix.sh DIR     # DIR is created; ~2 s
#   . DIR/env                                # RIG_* connection details
#   scripts/rig/test-rig.sh DIR              # self-check with swaks
#   sudo scripts/rig/stop-postfix.sh DIR [--purge]
#
# Everything the instance uses lives under DIR: configuration, queue, data,
# TLS certificate, SASL database, log and delivered mail. The system Postfix
# (/etc/postfix, /var/spool/postfix, port 25) is never touched, so several
# instances can run side by side on different ports.
#
# Listeners on $BIND (default 127.0.0.1):
#   $SMTP_PORT   (default 2525) plain SMTP: no TLS, no AUTH; relays any
#                recipient for 127.0.0.0/8 and ::1, like an injection MTA
#                that trusts approved hosts.
#   $SUBMIT_PORT (default 2587) STARTTLS required (530 before it), then AUTH
#                PLAIN or LOGIN as $SASL_USER/$SASL_PASS; relaying needs AUTH
#                (554 otherwise); a wrong password gets 535.
# Delivery:
#   recipients @$DISCARD_DOMAIN are accepted and thrown away (benchmarks);
#   every other recipient gets one pair of files in DIR/mail/new:
#     <queueid>.<n>.eml   the message as Postfix stores it (LF line ends; no
#                         From_, Return-Path or Delivered-To; our own Received:
#                         header removed unless KEEP_RECEIVED=1)
#     <queueid>.<n>.meta  queue_id, sender, recipient, sasl_username,
#                         client_address (key=value lines)
#   The .meta appears last, so once it exists the .eml is complete.
#
# Settings (environment): BIND SMTP_PORT SUBMIT_PORT SASL_USER SASL_PASS
#   SASL_REALM RIG_HOSTNAME DISCARD_DOMAIN KEEP_RECEIVED IN_FLOW_DELAY
#   MESSAGE_SIZE_LIMIT DELIVER_USER
set -euo pipefail

DIR=${1:?usage: start-postfix.sh DIR   (a folder for this instance, created if missing)}
BIND=${BIND:-127.0.0.1}
SMTP_PORT=${SMTP_PORT:-2525}
SUBMIT_PORT=${SUBMIT_PORT:-2587}
SASL_USER=${SASL_USER:-testuser}
SASL_PASS=${SASL_PASS:-testpass}
SASL_REALM=${SASL_REALM:-rig.smimepost.invalid}
RIG_HOSTNAME=${RIG_HOSTNAME:-rig.smimepost.invalid}
DISCARD_DOMAIN=${DISCARD_DOMAIN:-discard.invalid}
KEEP_RECEIVED=${KEEP_RECEIVED:-0}
IN_FLOW_DELAY=${IN_FLOW_DELAY:-1s}
MESSAGE_SIZE_LIMIT=${MESSAGE_SIZE_LIMIT:-52428800}
# pipe(8) will not run commands as root or as the mail owner.
DELIVER_USER=${DELIVER_USER:-nobody}

fail() { echo "start-postfix: $*" >&2; exit 1; }

# --- preconditions -----------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "must run as root (Postfix's master starts as root)"
for tool in postfix postconf saslpasswd2 openssl; do
  command -v "$tool" >/dev/null \
    || fail "$tool not found (apt-get install -y postfix sasl2-bin libsasl2-modules libsasl2-modules-db openssl)"
done
for plugin in libplain liblogin libsasldb; do
  compgen -G "/usr/lib/*/sasl2/$plugin.so*" >/dev/null \
    || fail "Cyrus SASL plugin $plugin missing (apt-get install -y libsasl2-modules libsasl2-modules-db)"
done
id postfix >/dev/null 2>&1 || fail "user postfix missing: is the postfix package installed?"
id "$DELIVER_USER" >/dev/null 2>&1 || fail "delivery user $DELIVER_USER does not exist"
DELIVER_GROUP=$(id -gn "$DELIVER_USER")

port_open() { (exec 3<>"/dev/tcp/$BIND/$1") 2>/dev/null; }
if [ -f "$DIR/queue/pid/master.pid" ] && kill -0 "$(tr -d ' \n' < "$DIR/queue/pid/master.pid")" 2>/dev/null; then
  fail "an instance already runs in $DIR (stop it with stop-postfix.sh $DIR)"
fi
for port in "$SMTP_PORT" "$SUBMIT_PORT"; do
  port_open "$port" && fail "$BIND:$port is already in use (choose SMTP_PORT/SUBMIT_PORT)"
done

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
CONF=$DIR/conf QUEUE=$DIR/queue DATA=$DIR/data MAIL=$DIR/mail

# Postfix daemons run as postfix and deliveries as $DELIVER_USER: both must
# be able to walk down to DIR. mktemp -d makes 0700 folders, a usual trap.
chmod 755 "$DIR"
for user in postfix "$DELIVER_USER"; do
  runuser -u "$user" -- test -x "$DIR" \
    || fail "user $user cannot reach $DIR: every folder above it needs o+x (chmod 755)"
done

# Postfix insists on root-owned, not group- or world-writable queue folders.
mkdir -p "$CONF/tls" "$CONF/sasl" "$QUEUE" "$DATA" "$DIR/bin" "$MAIL/tmp" "$MAIL/new"
chown root:root "$DIR" "$CONF" "$QUEUE" "$DIR/bin"
chmod 755 "$CONF" "$QUEUE" "$DIR/bin"
chown postfix:postfix "$DATA"
chmod 700 "$DATA"
chown -R "$DELIVER_USER:$DELIVER_GROUP" "$MAIL"
chmod 755 "$MAIL" "$MAIL/tmp" "$MAIL/new"

# --- TLS: a self-signed certificate, reused when the instance restarts --------
if [ ! -s "$CONF/tls/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$RIG_HOSTNAME" \
    -addext "subjectAltName=DNS:$RIG_HOSTNAME,DNS:localhost,IP:127.0.0.1" \
    -keyout "$CONF/tls/key.pem" -out "$CONF/tls/cert.pem" 2>/dev/null \
    || fail "openssl could not make the TLS certificate"
  chmod 600 "$CONF/tls/key.pem"
  chmod 644 "$CONF/tls/cert.pem"
fi

# --- SASL: a Cyrus sasldb file, so no saslauthd or Dovecot is needed ---------
cat > "$CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $CONF/sasl/sasldb2
EOF
rm -f "$CONF/sasl/sasldb2"*
printf '%s' "$SASL_PASS" | saslpasswd2 -p -c -f "$CONF/sasl/sasldb2" -u "$SASL_REALM" "$SASL_USER"
chown root:postfix "$CONF/sasl/sasldb2"*
chmod 640 "$CONF/sasl/sasldb2"*

# --- delivery: pipe(8) runs this once per recipient ---------------------------
cat > "$DIR/bin/deliver" <<'EOF'
#!/bin/sh
# deliver MAILDIR QUEUE_ID SENDER RECIPIENT SASL_USERNAME CLIENT_ADDRESS < message
# Writes under tmp/, then renames into new/: the .eml first, the .meta last.
umask 022
maildir=$1
name="$2.$(date +%s%N).$$"
cat > "$maildir/tmp/$name.eml" || exit 75
printf 'queue_id=%s\nsender=%s\nrecipient=%s\nsasl_username=%s\nclient_address=%s\n' \
  "$2" "$3" "$4" "$5" "$6" > "$maildir/tmp/$name.meta" || exit 75
mv "$maildir/tmp/$name.eml" "$maildir/new/$name.eml" || exit 75
mv "$maildir/tmp/$name.meta" "$maildir/new/$name.meta" || exit 75
EOF
chmod 755 "$DIR/bin/deliver"

# --- main.cf -----------------------------------------------------------------
HEADER_CHECKS=
if [ "$KEEP_RECEIVED" != 1 ]; then
  # Drop only the Received: header this instance adds, so what arrives is
  # what the client sent.
  printf '/^Received:.*by %s \\(Postfix\\)/ IGNORE\n' "${RIG_HOSTNAME//./\\.}" > "$CONF/header_checks"
  HEADER_CHECKS="regexp:$CONF/header_checks"
fi
cat > "$CONF/main.cf" <<EOF
# smimepost test rig: a private Postfix instance (written by start-postfix.sh)
compatibility_level = 3.6
config_directory = $CONF
queue_directory = $QUEUE
data_directory = $DATA
mail_owner = postfix
setgid_group = postdrop
syslog_name = smimepost-rig
maillog_file = $DIR/maillog
maillog_file_prefixes = $DIR
myhostname = $RIG_HOSTNAME
mydomain = invalid
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $BIND
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_banner = \$myhostname ESMTP smimepost-rig
biff = no
append_dot_mydomain = no
readme_directory = no
smtputf8_enable = yes
in_flow_delay = $IN_FLOW_DELAY
message_size_limit = $MESSAGE_SIZE_LIMIT
# Leave the content alone: no header rewriting, no 8bit-to-QP conversion.
local_header_rewrite_clients =
remote_header_rewrite_domain =
disable_mime_output_conversion = yes
header_checks = $HEADER_CHECKS
# Everything goes to our deliver pipe, $DISCARD_DOMAIN to discard(8).
default_transport = deliver
relay_transport = deliver
transport_maps = inline:{$DISCARD_DOMAIN=discard:}
deliver_destination_recipient_limit = 1
deliver_destination_concurrency_limit = 20
# Port $SMTP_PORT: trusted injection, no TLS, no AUTH.
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = no
# TLS and SASL material; port $SUBMIT_PORT switches them on in master.cf.
smtpd_tls_chain_files = $CONF/tls/key.pem, $CONF/tls/cert.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = no
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $CONF/sasl
smtpd_sasl_local_domain = $SASL_REALM
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
EOF

# --- master.cf: no chroot, only our two loopback listeners --------------------
cat > "$CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
$BIND:$SMTP_PORT inet n  -       n       -       -       smtpd
  -o syslog_name=smimepost-rig/smtp
$BIND:$SUBMIT_PORT inet n -      n       -       -       smtpd
  -o syslog_name=smimepost-rig/submit
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
  -o smtpd_client_restrictions=
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
deliver   unix  -       n       n       -       -       pipe
  user=$DELIVER_USER null_sender= argv=$DIR/bin/deliver $MAIL \${queue_id} \${sender} \${recipient} \${sasl_username} \${client_address}
EOF

postconf -c "$CONF" >/dev/null || fail "Postfix rejects the generated main.cf ($CONF/main.cf)"
# "postfix start" runs postsuper as mail_owner, which must open the log: a
# root-owned log makes a later stop/start of this instance fail its check.
touch "$DIR/maillog" && chown postfix "$DIR/maillog"
# postfix(1) reports only to a terminal; otherwise its words go to DIR/maillog.
if ! postfix -c "$CONF" start >/dev/null 2>&1; then
  tail -n 20 "$DIR/maillog" >&2 2>/dev/null || true
  fail "postfix did not start (see $DIR/maillog)"
fi

# Wait up to 10 s for both listeners.
for _ in $(seq 100); do
  port_open "$SMTP_PORT" && port_open "$SUBMIT_PORT" && break
  sleep 0.1
done
port_open "$SMTP_PORT" && port_open "$SUBMIT_PORT" \
  || fail "the listeners did not come up (see $DIR/maillog)"

MASTER_PID=$(tr -d ' \n' < "$QUEUE/pid/master.pid")
cat > "$DIR/env" <<EOF
RIG_DIR=$DIR
RIG_HOST=$BIND
RIG_SMTP_PORT=$SMTP_PORT
RIG_SUBMIT_PORT=$SUBMIT_PORT
RIG_USER=$SASL_USER
RIG_PASS=$SASL_PASS
RIG_CA=$CONF/tls/cert.pem
RIG_MAILDIR=$MAIL/new
RIG_DISCARD_DOMAIN=$DISCARD_DOMAIN
RIG_LOG=$DIR/maillog
RIG_MASTER_PID=$MASTER_PID
EOF
echo "postfix rig up: pid $MASTER_PID, smtp $BIND:$SMTP_PORT, submission (STARTTLS+AUTH) $BIND:$SUBMIT_PORT, mail in $MAIL/new, log $DIR/maillog"

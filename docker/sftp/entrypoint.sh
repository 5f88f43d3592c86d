#!/bin/bash
# Starts the hosted SFTP drop box from what is mounted:
#   /etc/courtfeed-sftp/users/<user>.pub       authorized keys, one file per SFTP user
#   /etc/courtfeed-sftp/ssh_host_ed25519_key   the server's host key (pinned in Airflow)
# courtfeed.pub is Airflow's reader (chroot /srv/sftp, sees every agency); every other file is an
# agency (chroot /srv/sftp/<user>, folders drop/ processed/ errors/ acks/). Runs on every start,
# so adding or removing a .pub file and restarting the service is all it takes.
set -euo pipefail

USERS_DIR=${SFTP_USERS_DIR:-/etc/courtfeed-sftp/users}
HOST_KEY=${SFTP_HOST_KEY:-/etc/courtfeed-sftp/ssh_host_ed25519_key}
ROOT=/srv/sftp
READER=courtfeed
FOLDERS=(drop processed errors acks)
FIRST_UID=2100

die() {
  echo "courtfeed-sftp: $*" >&2
  exit 1
}

# A missing bind-mount source becomes an empty directory, so test for a regular file. The key is
# never generated here: a new key on every start would break the pin in the Airflow connection.
[ -f "$HOST_KEY" ] || die "no host key at $HOST_KEY; create deploy/sftp/ssh_host_ed25519_key (docs/hosted-sftp.md)"
install -m 0600 -o root -g root "$HOST_KEY" /etc/ssh/ssh_host_ed25519_key
[ -d "$USERS_DIR" ] || die "no users folder at $USERS_DIR"
[ -f "$USERS_DIR/$READER.pub" ] || die "no $READER.pub in the users folder: Airflow could not log in"

getent group "$READER" >/dev/null || groupadd --gid 2000 "$READER"
getent group sftp-agencies >/dev/null || groupadd --gid 2001 sftp-agencies
chown root:root "$ROOT"
chmod 0755 "$ROOT"

# Keys are reinstalled from the mount on every start: a removed .pub file locks its user out.
rm -f /etc/ssh/authorized_keys/*

install_keys() {
  local name=$1 file=$2
  # ssh-keygen -l fails unless the file holds at least one valid public key.
  ssh-keygen -l -f "$file" >/dev/null 2>&1 || die "$file holds no valid public key"
  install -m 0644 -o root -g root "$file" "/etc/ssh/authorized_keys/$name"
}

# Stable uids: the named volume outlives the container, so a user whose folder exists keeps the
# uid that owns it; new users get the next uid above every one in use.
next_uid=$FIRST_UID
for dir in "$ROOT"/*/drop; do
  [ -d "$dir" ] || continue
  owner=$(stat -c %u "$dir")
  if [ "$owner" -ge "$next_uid" ]; then next_uid=$((owner + 1)); fi
done

ensure_user() {
  local name=$1 uid=$2 group=$3 home=$4
  if getent passwd "$name" >/dev/null; then
    [ "$(id -u "$name")" -ge 2000 ] || die "user name $name is taken by a system account; pick another"
    return
  fi
  # Password field `*`: no password can ever match (key-only even if sshd_config were changed),
  # but the account is not locked. useradd's default `!` means "locked", and OpenSSH without PAM
  # then refuses every login, keys included.
  useradd --uid "$uid" --gid "$group" --home-dir "$home" --no-create-home --shell /usr/sbin/nologin \
    --password '*' "$name"
}

ensure_user "$READER" 2000 "$READER" /
install_keys "$READER" "$USERS_DIR/$READER.pub"

for file in "$USERS_DIR"/*.pub; do
  name=$(basename "$file" .pub)
  [ "$name" = "$READER" ] && continue
  [[ "$name" =~ ^[a-z][a-z0-9_-]{0,30}$ ]] || die "$file: user names are lower case letters, digits, - and _"
  if [ -d "$ROOT/$name/drop" ]; then
    uid=$(stat -c %u "$ROOT/$name/drop")
  else
    uid=$next_uid
    next_uid=$((next_uid + 1))
  fi
  ensure_user "$name" "$uid" sftp-agencies /
  install_keys "$name" "$file"
  # The chroot itself must be root-owned and not writable by anyone else (sshd refuses otherwise);
  # the folders inside belong to the agency, with the courtfeed group able to read, move and
  # delete (setgid: new files get the group too).
  install -d -m 0755 -o root -g root "$ROOT/$name"
  for folder in "${FOLDERS[@]}"; do
    install -d -m 2775 -o "$name" -g "$READER" "$ROOT/$name/$folder"
  done
  echo "courtfeed-sftp: user $name (uid $uid)"
done

/usr/sbin/sshd -t
exec /usr/sbin/sshd -D -e

# shellcheck shell=bash
# Sourced by bootstrap_base.sh and cleanroom.sh: the Debian archive this
# machine's apt is configured with, read through apt itself (so both the
# one-line sources.list and deb822 .sources files count; no host is written
# into the scripts).

# apt_targets: "SITE RELEASE COMPONENT" for every configured binary index.
apt_targets() {
  # shellcheck disable=SC2016 # $(...) is apt's format syntax, not the shell's
  apt-get indextargets --format '$(TARGET_OF) $(IDENTIFIER) $(SITE) $(RELEASE) $(COMPONENT)' |
    awk '$1 == "deb" && $2 == "Packages" { print $3, $4, $5 }' | sort -u
}

# debian_mirror SUITE: the site that serves SUITE itself (e.g. bookworm).
debian_mirror() {
  apt_targets | awk -v s="$1" '$2 == s { print $1; exit }'
}

# debian_sources SUITE: deb822 stanzas for SUITE and its -updates and
# -security companions, as the machine has them configured.
debian_sources() {
  apt_targets | awk -v s="$1" '
    $2 == s || $2 == s "-updates" || $2 == s "-security" {
      key = $1 " " $2
      if (!(key in comps)) { order[++n] = key; comps[key] = $3 }
      else if (index(" " comps[key] " ", " " $3 " ") == 0) comps[key] = comps[key] " " $3
    }
    END {
      for (i = 1; i <= n; i++) {
        split(order[i], f, " ")
        printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n", f[1], f[2], comps[order[i]]
        printf "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
      }
    }'
}

# unmount_under DIR: unmounts everything at or below DIR, deepest first (a
# busy one after a second's wait, else lazily). Returns non-zero when
# something is still mounted there: never delete DIR then.
unmount_under() {
  local m
  for m in $(mounts_under "$1"); do
    umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } || umount -l "$m" || true
  done
  [ -z "$(mounts_under "$1")" ]
}

# mounts_under DIR: mount points at or below DIR, deepest first.
mounts_under() {
  local dir
  dir=$(realpath -m "$1")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

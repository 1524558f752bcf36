#!/bin/sh
# Build a tiny OCI image archive (no registry, no podman/buildah needed) from
# Debian's busybox-static. Produces one archive holding two images that share
# one layer:
#   localhost/busybox:e2e  (Cmd /bin/sh)
#   localhost/pause:e2e    (Entrypoint /bin/sleep infinity) - CRI sandbox image
# Usage: mk-oci-images.sh OUT.tar      (needs: busybox-static, tar, sha256sum)
set -eu
out=${1:?usage: $0 OUT.tar}
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
r=$w/rootfs; mkdir -p $r/bin $r/etc $r/www $r/tmp $r/proc $r/sys $r/dev $r/run $r/var
cp /bin/busybox $r/bin/busybox
for a in $($r/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' > $r/etc/passwd; echo 'root:x:0:' > $r/etc/group
echo 'hello from busybox' > $r/www/index.html
b=$w/oci/blobs/sha256; mkdir -p $b
# reproducible-ish layer
tar -C $r --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -cf $w/layer.tar .
ld=$(sha256sum $w/layer.tar | cut -d' ' -f1); ls=$(stat -c %s $w/layer.tar); mv $w/layer.tar $b/$ld
blob() { # write stdin as blob, print "digest size"
  cat > $w/blob; d=$(sha256sum $w/blob | cut -d' ' -f1); s=$(stat -c %s $w/blob); mv $w/blob $b/$d; echo "$d $s"; }
mkimg() { # name, config-json-fragment
  set -- "$1" "$(printf '{"architecture":"amd64","os":"linux","config":{%s,"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$2" "$ld" | blob)"
  cd_=${2% *}; cs=${2#* }
  set -- "$1" "$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd_" "$cs" "$ld" "$ls" | blob)"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' "${2% *}" "${2#* }" "$1" "${1##*:}"
}
m1=$(mkimg localhost/busybox:e2e '"Cmd":["/bin/sh"]')
m2=$(mkimg localhost/pause:e2e '"Entrypoint":["/bin/sleep","infinity"]')
printf '{"schemaVersion":2,"manifests":[%s,%s]}' "$m1" "$m2" > $w/oci/index.json
printf '{"imageLayoutVersion":"1.0.0"}' > $w/oci/oci-layout
tar -C $w/oci -cf "$out" oci-layout index.json blobs
echo "wrote $out"

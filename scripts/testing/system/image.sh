# The recipe of scripts/testing/system-test's cached Debian 12 root file system. Sourced, not run.
# scripts/testing/system-test hashes this file with the package list: any change here rebuilds the image.

# build_system_rootfs DIR MIRROR PACKAGE...: debootstrap minbase with the packages into DIR (as root).
build_system_rootfs() {
    local dir="$1" mirror="$2"; shift 2
    local include
    include="$(IFS=,; echo "$*")"
    rm -rf "$dir" && mkdir -p "$dir"
    debootstrap --variant=minbase --include="$include" bookworm "$dir" "$mirror" \
        > "$dir.debootstrap.log" 2>&1 || {
        tail -n 20 "$dir.debootstrap.log" >&2
        [ -f "$dir/debootstrap/debootstrap.log" ] && tail -n 20 "$dir/debootstrap/debootstrap.log" >&2
        return 1
    }

    echo remotair-board > "$dir/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 remotair-board\n' > "$dir/etc/hosts"
    echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$dir/etc/fstab"
    # The guest's apt knows the same mirror (it never reaches it: remove and purge need no network).
    echo "deb $mirror bookworm main" > "$dir/etc/apt/sources.list"
    # Nothing may run apt or dpkg behind the test's back, and no login prompt on the console.
    local unit
    for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
        serial-getty@ttyS0.service serial-getty@ttyS1.service getty@tty1.service; do
        ln -sf /dev/null "$dir/etc/systemd/system/$unit"
    done
    # A small initramfs: only what mounts the virtio root disk (the default "most" is ~30 MB to unpack).
    sed -i 's/^MODULES=.*/MODULES=list/' "$dir/etc/initramfs-tools/initramfs.conf"
    printf 'virtio_pci\nvirtio_blk\next4\n' >> "$dir/etc/initramfs-tools/modules"
    local release
    release="$(ls "$dir/lib/modules" | head -n 1)"
    [ -n "$release" ] || { echo "the image has no kernel modules" >&2; return 1; }
    chroot "$dir" update-initramfs -u -k "$release" > "$dir.initramfs.log" 2>&1 || {
        tail -n 20 "$dir.initramfs.log" >&2
        return 1
    }
    # Documentation and the apt lists are dead weight on a board image.
    rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/* "$dir"/var/cache/apt/*.bin \
        "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages
    # The kernel's largest driver folders serve hardware a duct board does not have.
    rm -rf "$dir/lib/modules/$release/kernel/drivers/gpu" "$dir/lib/modules/$release/kernel/drivers/net/wireless" \
        "$dir/lib/modules/$release/kernel/drivers/net/ethernet" "$dir/lib/modules/$release/kernel/drivers/infiniband" \
        "$dir/lib/modules/$release/kernel/sound" "$dir/lib/modules/$release/kernel/drivers/staging"
    chroot "$dir" depmod "$release" || return 1
}

// vmprobe: the few device pokes the VM test script needs that busybox lacks. Built static on the
// host by scripts/vm-test and copied into the initramfs; it is test tooling, not part of remotaird.
//
//   vmprobe controls DEVICE              list the V4L2 controls: "0xID type name"
//   vmprobe set DEVICE "NAME" VALUE      set a control found by its exact name (buttons take any VALUE)
//   vmprobe i2c-rdwr BUS ADDRESS         one plain I2C write (I2C_RDWR) of 2 bytes; print the errno name
//   vmprobe jpeg FILE                    check SOI, a SOF marker and EOI; print "WIDTHxHEIGHT"
//
// Controls are looked up by name because vivid's error-injection controls are private
// (VIVID_CID_VIVID_BASE + n) and their ids are not in any exported header.
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int open_device(const char *path) {
    int fd = open(path, O_RDWR | O_NONBLOCK);
    if (fd < 0) fprintf(stderr, "vmprobe: open %s: %s\n", path, strerror(errno));
    return fd;
}

// Walks every control with V4L2_CTRL_FLAG_NEXT_CTRL; calls visit until it returns non-zero.
static int each_control(int fd, int (*visit)(const struct v4l2_queryctrl *, void *), void *context) {
    struct v4l2_queryctrl query = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
    while (ioctl(fd, VIDIOC_QUERYCTRL, &query) == 0) {
        if (!(query.flags & V4L2_CTRL_FLAG_DISABLED) && query.type != V4L2_CTRL_TYPE_CTRL_CLASS) {
            int result = visit(&query, context);
            if (result) return result;
        }
        query.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    return 0;
}

static int print_control(const struct v4l2_queryctrl *query, void *context) {
    (void)context;
    printf("0x%08x %u %s\n", query->id, query->type, (const char *)query->name);
    return 0;
}

struct lookup { const char *name; __u32 id; __u32 type; };

static int match_control(const struct v4l2_queryctrl *query, void *context) {
    struct lookup *lookup = context;
    if (strcmp((const char *)query->name, lookup->name) != 0) return 0;
    lookup->id = query->id;
    lookup->type = query->type;
    return 1;
}

static int set_control(const char *path, const char *name, const char *value) {
    int fd = open_device(path);
    if (fd < 0) return 1;
    struct lookup lookup = {.name = name};
    if (!each_control(fd, match_control, &lookup)) {
        fprintf(stderr, "vmprobe: %s has no control named \"%s\"\n", path, name);
        close(fd);
        return 1;
    }
    struct v4l2_control control = {.id = lookup.id, .value = (__s32)strtol(value, NULL, 0)};
    if (lookup.type == V4L2_CTRL_TYPE_BUTTON) control.value = 1;
    if (ioctl(fd, VIDIOC_S_CTRL, &control) != 0) {
        fprintf(stderr, "vmprobe: VIDIOC_S_CTRL \"%s\" (0x%08x) on %s: %s\n", name, lookup.id, path, strerror(errno));
        close(fd);
        return 1;
    }
    close(fd);
    return 0;
}

static int jpeg_info(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { fprintf(stderr, "vmprobe: open %s: %s\n", path, strerror(errno)); return 1; }
    static unsigned char data[16 << 20];
    size_t size = fread(data, 1, sizeof data, file);
    fclose(file);
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) { printf("no SOI marker\n"); return 1; }
    if (data[size - 2] != 0xFF || data[size - 1] != 0xD9) { printf("no EOI marker at the end\n"); return 1; }
    // Walk the marker segments up to the first SOF (baseline, extended, progressive or lossless).
    size_t at = 2;
    while (at + 9 < size) {
        if (data[at] != 0xFF) { printf("bad marker at offset %zu\n", at); return 1; }
        unsigned marker = data[at + 1];
        if (marker == 0xFF) { at++; continue; }  // fill byte
        unsigned length = (unsigned)data[at + 2] << 8 | data[at + 3];
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            unsigned height = (unsigned)data[at + 5] << 8 | data[at + 6];
            unsigned width = (unsigned)data[at + 7] << 8 | data[at + 8];
            printf("%ux%u\n", width, height);
            return 0;
        }
        if (marker == 0xDA) break;  // start of scan before any SOF
        at += 2 + length;
    }
    printf("no SOF marker\n");
    return 1;
}

// What the kernel answers to a plain I2C transfer, without busybox's I2C_FUNCS pre-check.
static int i2c_rdwr(const char *bus, const char *address) {
    int fd = open(bus, O_RDWR);
    if (fd < 0) { printf("open %s: %s\n", bus, strerror(errno)); return 1; }
    unsigned char bytes[2] = {0x24, 0x00};
    struct i2c_msg message = {.addr = (__u16)strtol(address, NULL, 0), .flags = 0, .len = 2, .buf = bytes};
    struct i2c_rdwr_ioctl_data data = {.msgs = &message, .nmsgs = 1};
    int result = ioctl(fd, I2C_RDWR, &data);
    int error = errno;
    close(fd);
    if (result < 0) {
        printf("%s (%s)\n", error == EOPNOTSUPP ? "EOPNOTSUPP" : "other errno", strerror(error));
        return 1;
    }
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "controls") == 0) {
        int fd = open_device(argv[2]);
        if (fd < 0) return 1;
        each_control(fd, print_control, NULL);
        close(fd);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "set") == 0) return set_control(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "i2c-rdwr") == 0) return i2c_rdwr(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "jpeg") == 0) return jpeg_info(argv[2]);
    fprintf(stderr, "usage: vmprobe controls DEVICE | set DEVICE NAME VALUE | i2c-rdwr BUS ADDRESS | jpeg FILE\n");
    return 2;
}

// vmprobe: the few device pokes the VM test script needs that busybox lacks. Built static on the
// host by scripts/testing/vm-test and copied into the initramfs; it is test tooling, not part of remotaird.
//
//   vmprobe controls DEVICE              list the V4L2 controls: "0xID type name"
//   vmprobe set DEVICE "NAME" VALUE      set a control found by its exact name (buttons take any VALUE)
//   vmprobe i2c-rdwr BUS ADDRESS         one plain I2C write (I2C_RDWR) of 2 bytes; print the errno name
//   vmprobe v4l2-facts DEVICE            walk the capture ioctls and print "FACT name=value" lines
//                                        (errnos and flags as the kernel answers them)
//   vmprobe i2c-facts BUS                the same for i2c-dev on i2c-stub (a BME280 image at 0x76, nothing at 0x77)
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
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

// ---- v4l2-facts: what the kernel answers where our fakes make assumptions ----------------------

static const char *errno_name(int code) {
    switch (code) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case EIO: return "EIO";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case ERANGE: return "ERANGE";
    case EPIPE: return "EPIPE";
    case ENXIO: return "ENXIO";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EREMOTEIO: return "EREMOTEIO";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: { static char text[32]; snprintf(text, sizeof text, "errno%d", code); return text; }
    }
}

// Runs one ioctl and returns 0 or the errno name's code.
static int try_ioctl(int fd, unsigned long request, void *argument) {
    return ioctl(fd, request, argument) == 0 ? 0 : errno;
}

static void fact(const char *name, const char *value) { printf("FACT %s=%s\n", name, value); }
static void fact_errno(const char *name, int code) { fact(name, errno_name(code)); }
static void fact_uint(const char *name, unsigned long value) { printf("FACT %s=%lu\n", name, value); }

static void poll_names(short revents, char *text, size_t size) {
    snprintf(text, size, "%s%s%s%s%s", revents == 0 ? "none" : "",
             revents & POLLIN ? "IN|" : "", revents & POLLPRI ? "PRI|" : "",
             revents & POLLERR ? "ERR|" : "", revents & POLLHUP ? "HUP|" : "");
    size_t length = strlen(text);
    if (length && text[length - 1] == '|') text[length - 1] = 0;
}

static void fact_poll(const char *name, int fd, int timeout_ms) {
    struct pollfd entry = {.fd = fd, .events = POLLIN | POLLPRI};
    int ready = poll(&entry, 1, timeout_ms);
    char text[64];
    if (ready < 0) snprintf(text, sizeof text, "failed-%s", errno_name(errno));
    else poll_names(entry.revents, text, sizeof text);
    fact(name, text);
}

static int press(int fd, const char *name, int value) {
    struct lookup lookup = {.name = name};
    if (!each_control(fd, match_control, &lookup)) return ENOENT;
    struct v4l2_control control = {.id = lookup.id, .value = value};
    return try_ioctl(fd, VIDIOC_S_CTRL, &control);
}

struct mapping { void *start; size_t length; };

static int set_yuyv(int fd, unsigned width, unsigned height, struct v4l2_format *format) {
    memset(format, 0, sizeof *format);
    format->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    format->fmt.pix.width = width;
    format->fmt.pix.height = height;
    format->fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    format->fmt.pix.field = V4L2_FIELD_NONE;
    return try_ioctl(fd, VIDIOC_S_FMT, format);
}

static int request_buffers(int fd, unsigned count, unsigned *granted) {
    struct v4l2_requestbuffers request = {.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    int code = try_ioctl(fd, VIDIOC_REQBUFS, &request);
    if (granted) *granted = request.count;
    return code;
}

static int map_and_queue(int fd, unsigned count, struct mapping *maps) {
    for (unsigned i = 0; i < count; i++) {
        struct v4l2_buffer buffer = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        int code = try_ioctl(fd, VIDIOC_QUERYBUF, &buffer);
        if (code) return code;
        maps[i].length = buffer.length;
        maps[i].start = mmap(NULL, buffer.length, PROT_READ, MAP_SHARED, fd, buffer.m.offset);
        if (maps[i].start == MAP_FAILED) return errno;
        code = try_ioctl(fd, VIDIOC_QBUF, &buffer);
        if (code) return code;
    }
    return 0;
}

static void unmap_all(unsigned count, struct mapping *maps) {
    for (unsigned i = 0; i < count; i++) {
        if (maps[i].start && maps[i].start != MAP_FAILED) munmap(maps[i].start, maps[i].length);
        maps[i].start = NULL;
    }
}

// Dequeues one buffer (waiting up to 3 s); returns 0 or the errno.
static int dequeue(int fd, struct v4l2_buffer *buffer) {
    for (int attempt = 0; attempt < 30; attempt++) {
        memset(buffer, 0, sizeof *buffer);
        buffer->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buffer->memory = V4L2_MEMORY_MMAP;
        int code = try_ioctl(fd, VIDIOC_DQBUF, buffer);
        if (code != EAGAIN) return code;
        struct pollfd entry = {.fd = fd, .events = POLLIN};
        poll(&entry, 1, 100);
    }
    return EAGAIN;
}

static int v4l2_facts(const char *path) {
    enum { COUNT = 4 };
    struct mapping maps[32] = {0};
    struct v4l2_format format;
    struct v4l2_buffer buffer;
    unsigned granted = 0;
    char text[128];
    int fd = open_device(path);
    if (fd < 0) return 1;

    struct v4l2_capability capability = {0};
    fact_errno("querycap", try_ioctl(fd, VIDIOC_QUERYCAP, &capability));
    snprintf(text, sizeof text, "0x%08x", capability.device_caps);
    fact("device_caps", text);
    fact("driver", (const char *)capability.driver);

    // Formats: is there MJPEG, what is first, what does S_FMT do with MJPG and an odd size.
    int mjpeg = 0;
    struct v4l2_fmtdesc description = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    for (description.index = 0; ioctl(fd, VIDIOC_ENUM_FMT, &description) == 0; description.index++) {
        if (description.index == 0) {
            snprintf(text, sizeof text, "%.4s", (const char *)&description.pixelformat);
            fact("first_format", text);
        }
        if (description.pixelformat == V4L2_PIX_FMT_MJPEG) mjpeg = 1;
    }
    fact_uint("format_count", description.index);
    fact("offers_mjpeg", mjpeg ? "yes" : "no");
    memset(&format, 0, sizeof format);
    format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    format.fmt.pix.width = 640;
    format.fmt.pix.height = 480;
    format.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    fact_errno("s_fmt_mjpeg", try_ioctl(fd, VIDIOC_S_FMT, &format));
    snprintf(text, sizeof text, "%.4s", (const char *)&format.fmt.pix.pixelformat);
    fact("s_fmt_mjpeg_became", text);
    fact_errno("s_fmt_odd_size", set_yuyv(fd, 1000, 1000, &format));
    snprintf(text, sizeof text, "%ux%u", format.fmt.pix.width, format.fmt.pix.height);
    fact("s_fmt_1000x1000_became", text);
    fact_errno("s_fmt_yuyv_640x480", set_yuyv(fd, 640, 480, &format));
    snprintf(text, sizeof text, "%ux%u/%u/%u", format.fmt.pix.width, format.fmt.pix.height,
             format.fmt.pix.bytesperline, format.fmt.pix.sizeimage);
    fact("yuyv_640x480_negotiated", text);

    // Controls: an integer control set out of range.
    struct lookup brightness = {.name = "Brightness"};
    if (each_control(fd, match_control, &brightness)) {
        struct v4l2_control control = {.id = brightness.id, .value = 100000};
        fact_errno("s_ctrl_out_of_range", try_ioctl(fd, VIDIOC_S_CTRL, &control));
        try_ioctl(fd, VIDIOC_G_CTRL, &control);
        fact_uint("s_ctrl_out_of_range_stored", (unsigned long)control.value);
        control.value = 128;
        ioctl(fd, VIDIOC_S_CTRL, &control);
    }
    struct v4l2_control unknown = {.id = 0x00981fff, .value = 1};
    fact_errno("s_ctrl_unknown_id", try_ioctl(fd, VIDIOC_S_CTRL, &unknown));

    // Queue life cycle.
    fact_errno("streamon_without_buffers", try_ioctl(fd, VIDIOC_STREAMON, &(int){V4L2_BUF_TYPE_VIDEO_CAPTURE}));
    fact_errno("reqbufs_1", request_buffers(fd, 1, &granted));
    fact_uint("reqbufs_1_granted", granted);
    fact_errno("reqbufs_64", request_buffers(fd, 64, &granted));
    fact_uint("reqbufs_64_granted", granted);
    request_buffers(fd, 0, NULL);
    fact_errno("reqbufs_4", request_buffers(fd, COUNT, &granted));
    fact_errno("s_fmt_with_buffers", set_yuyv(fd, 640, 480, &format));
    fact_errno("map_and_queue", map_and_queue(fd, COUNT, maps));
    buffer = (struct v4l2_buffer){.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    fact_errno("qbuf_twice", try_ioctl(fd, VIDIOC_QBUF, &buffer));
    buffer = (struct v4l2_buffer){.index = 99, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    fact_errno("qbuf_bad_index", try_ioctl(fd, VIDIOC_QBUF, &buffer));
    buffer = (struct v4l2_buffer){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    fact_errno("dqbuf_not_streaming", try_ioctl(fd, VIDIOC_DQBUF, &buffer));
    fact_poll("poll_not_streaming", fd, 0);
    fact_errno("streamon", try_ioctl(fd, VIDIOC_STREAMON, &(int){V4L2_BUF_TYPE_VIDEO_CAPTURE}));
    fact_errno("reqbufs_while_streaming", request_buffers(fd, COUNT, NULL));
    int code = dequeue(fd, &buffer);
    fact_errno("dqbuf", code);
    if (code == 0) {
        snprintf(text, sizeof text, "%u/0x%x/%u", buffer.bytesused, buffer.flags & 0xffff, buffer.sequence);
        fact("dqbuf_bytesused_flags_sequence", text);
        ioctl(fd, VIDIOC_QBUF, &buffer);
    }

    // Error flag: the next buffer the driver completes carries V4L2_BUF_FLAG_ERROR.
    fact_errno("press_buf_flag_error", press(fd, "Inject V4L2_BUF_FLAG_ERROR", 1));
    int flagged = 0;
    for (int i = 0; i < 8 && !flagged; i++) {
        if (dequeue(fd, &buffer)) break;
        if (buffer.flags & V4L2_BUF_FLAG_ERROR) {
            flagged = 1;
            snprintf(text, sizeof text, "%u/0x%x", buffer.bytesused, buffer.flags & 0xffff);
            fact("error_buffer_bytesused_flags", text);
        }
        ioctl(fd, VIDIOC_QBUF, &buffer);
    }
    fact("error_flag_seen", flagged ? "yes" : "no");

    // Dropped buffers: sequence numbers skip.
    press(fd, "Percentage of Dropped Buffers", 50);
    unsigned last = 0, gaps = 0;
    for (int i = 0; i < 10; i++) {
        if (dequeue(fd, &buffer)) break;
        if (i > 0 && buffer.sequence != last + 1) gaps++;
        last = buffer.sequence;
        ioctl(fd, VIDIOC_QBUF, &buffer);
    }
    fact("dropped_buffers_show_as_sequence_gaps", gaps ? "yes" : "no");
    press(fd, "Percentage of Dropped Buffers", 0);

    // Fatal streaming error (vb2_queue_error).
    fact_errno("press_fatal_error", press(fd, "Inject Fatal Streaming Error", 1));
    fact_poll("poll_after_fatal_error", fd, 500);
    do { code = try_ioctl(fd, VIDIOC_DQBUF, &buffer); } while (code == 0);  // drain buffers done before the error
    fact_errno("dqbuf_after_fatal_error", code);
    fact_errno("streamoff", try_ioctl(fd, VIDIOC_STREAMOFF, &(int){V4L2_BUF_TYPE_VIDEO_CAPTURE}));
    fact_errno("reqbufs_0_while_mapped", request_buffers(fd, 0, NULL));
    unmap_all(COUNT, maps);
    fact_errno("reqbufs_0_after_munmap", request_buffers(fd, 0, NULL));

    // STREAMON error injection: the next STREAMON fails.
    request_buffers(fd, COUNT, &granted);
    map_and_queue(fd, COUNT, maps);
    fact_errno("press_streamon_error", press(fd, "Inject VIDIOC_STREAMON Error", 1));
    fact_errno("streamon_injected", try_ioctl(fd, VIDIOC_STREAMON, &(int){V4L2_BUF_TYPE_VIDEO_CAPTURE}));
    fact_errno("streamon_again", try_ioctl(fd, VIDIOC_STREAMON, &(int){V4L2_BUF_TYPE_VIDEO_CAPTURE}));

    // Disconnect while streaming with buffers mapped: what an unplugged USB camera looks like.
    fact_errno("press_disconnect", press(fd, "Disconnect", 1));
    fact_errno("querycap_after_disconnect", try_ioctl(fd, VIDIOC_QUERYCAP, &capability));
    buffer = (struct v4l2_buffer){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    fact_errno("dqbuf_after_disconnect", try_ioctl(fd, VIDIOC_DQBUF, &buffer));
    fact_poll("poll_after_disconnect", fd, 0);
    int again = open(path, O_RDWR | O_NONBLOCK);
    fact_errno("open_after_disconnect", again < 0 ? errno : 0);
    if (again >= 0) close(again);
    fact("node_exists_after_disconnect", access(path, F_OK) == 0 ? "yes" : "no");
    // The module stays pinned while the file is open or mapped: an unplugged camera's driver cannot
    // be unloaded until user space lets go.
    fact_errno("delete_module_while_open", syscall(SYS_delete_module, "vivid", O_NONBLOCK) == 0 ? 0 : errno);
    close(fd);
    fact_errno("delete_module_closed_but_mapped", syscall(SYS_delete_module, "vivid", O_NONBLOCK) == 0 ? 0 : errno);
    unmap_all(COUNT, maps);
    fact_errno("delete_module_released", syscall(SYS_delete_module, "vivid", O_NONBLOCK) == 0 ? 0 : errno);
    return 0;
}

// ---- i2c-facts -----------------------------------------------------------------------------------

static int smbus(int fd, char read_write, __u8 command, int size, union i2c_smbus_data *data) {
    struct i2c_smbus_ioctl_data request = {.read_write = read_write, .command = command, .size = size, .data = data};
    return try_ioctl(fd, I2C_SMBUS, &request);
}

static int i2c_facts(const char *bus) {
    char text[64];
    int fd = open(bus, O_RDWR);
    if (fd < 0) { printf("open %s: %s\n", bus, strerror(errno)); return 1; }
    unsigned long funcs = 0;
    fact_errno("i2c_funcs", try_ioctl(fd, I2C_FUNCS, &funcs));
    fact("func_i2c", funcs & I2C_FUNC_I2C ? "yes" : "no");
    fact("func_smbus_byte_data", (funcs & I2C_FUNC_SMBUS_BYTE_DATA) == I2C_FUNC_SMBUS_BYTE_DATA ? "yes" : "no");
    fact("func_smbus_i2c_block", (funcs & I2C_FUNC_SMBUS_I2C_BLOCK) == I2C_FUNC_SMBUS_I2C_BLOCK ? "yes" : "no");

    fact_errno("slave_0x76", try_ioctl(fd, I2C_SLAVE, (void *)0x76));
    union i2c_smbus_data data = {0};
    fact_errno("smbus_read_byte_data_0xd0", smbus(fd, I2C_SMBUS_READ, 0xD0, I2C_SMBUS_BYTE_DATA, &data));
    snprintf(text, sizeof text, "0x%02x", data.byte);
    fact("chip_id", text);
    memset(&data, 0, sizeof data);
    data.block[0] = 32;
    fact_errno("smbus_i2c_block_read_32", smbus(fd, I2C_SMBUS_READ, 0x88, I2C_SMBUS_I2C_BLOCK_DATA, &data));
    snprintf(text, sizeof text, "%u/0x%02x%02x", data.block[0], data.block[1], data.block[2]);
    fact("i2c_block_length_first_bytes", text);
    unsigned char bytes[2] = {0xF4, 0x25};
    fact_errno("plain_write", write(fd, bytes, 2) == 2 ? 0 : errno);
    fact_errno("plain_read", read(fd, bytes, 2) == 2 ? 0 : errno);
    struct i2c_msg message = {.addr = 0x76, .flags = 0, .len = 2, .buf = bytes};
    struct i2c_rdwr_ioctl_data rdwr = {.msgs = &message, .nmsgs = 1};
    fact_errno("i2c_rdwr", try_ioctl(fd, I2C_RDWR, &rdwr));

    fact_errno("slave_0x77", try_ioctl(fd, I2C_SLAVE, (void *)0x77));
    fact_errno("smbus_read_absent_0x77", smbus(fd, I2C_SMBUS_READ, 0xD0, I2C_SMBUS_BYTE_DATA, &data));
    close(fd);
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
    if (argc == 3 && strcmp(argv[1], "v4l2-facts") == 0) return v4l2_facts(argv[2]);
    if (argc == 3 && strcmp(argv[1], "i2c-facts") == 0) return i2c_facts(argv[2]);
    if (argc == 3 && strcmp(argv[1], "jpeg") == 0) return jpeg_info(argv[2]);
    fprintf(stderr, "usage: vmprobe controls DEVICE | set DEVICE NAME VALUE | i2c-rdwr BUS ADDRESS | v4l2-facts DEVICE | i2c-facts BUS | jpeg FILE\n");
    return 2;
}

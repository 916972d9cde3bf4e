#include "CI2C.h"
#include <sys/ioctl.h>

int remotair_i2c_ioctl_value(int fd, unsigned long request, unsigned long value) {
    return ioctl(fd, request, value);
}

int remotair_i2c_ioctl_ptr(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

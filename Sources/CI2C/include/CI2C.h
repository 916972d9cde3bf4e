// Linux i2c-dev UAPI plus libi2c's SMBus helpers (i2c-tools 4.3: functions return -errno on failure).
#ifndef REMOTAIR_CI2C_H
#define REMOTAIR_CI2C_H
#include <stdint.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>

/// ioctl(2) with an integer argument (I2C_SLAVE, I2C_TIMEOUT).
int remotair_i2c_ioctl_value(int fd, unsigned long request, unsigned long value);
/// ioctl(2) with a pointer argument (I2C_FUNCS, I2C_RDWR).
int remotair_i2c_ioctl_ptr(int fd, unsigned long request, void *arg);

#endif

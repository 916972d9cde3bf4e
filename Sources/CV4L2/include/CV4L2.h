// V4L2 through libv4l2 (v4l2_open/v4l2_ioctl), so cameras with odd native formats still work via libv4lconvert.
// Swift cannot import the _IOWR-based VIDIOC_* macros, so the numbers are exported here as constants
// computed by the C compiler from the kernel header.
#ifndef REMOTAIR_CV4L2_H
#define REMOTAIR_CV4L2_H
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

extern const unsigned long remotair_VIDIOC_QUERYCAP;
extern const unsigned long remotair_VIDIOC_ENUM_FMT;
extern const unsigned long remotair_VIDIOC_G_FMT;
extern const unsigned long remotair_VIDIOC_S_FMT;
extern const unsigned long remotair_VIDIOC_REQBUFS;
extern const unsigned long remotair_VIDIOC_QUERYBUF;
extern const unsigned long remotair_VIDIOC_QBUF;
extern const unsigned long remotair_VIDIOC_DQBUF;
extern const unsigned long remotair_VIDIOC_STREAMON;
extern const unsigned long remotair_VIDIOC_STREAMOFF;
extern const unsigned long remotair_VIDIOC_G_PARM;
extern const unsigned long remotair_VIDIOC_S_PARM;
extern const unsigned long remotair_VIDIOC_ENUM_FRAMESIZES;
extern const unsigned long remotair_VIDIOC_QUERYCTRL;
extern const unsigned long remotair_VIDIOC_QUERY_EXT_CTRL;
extern const unsigned long remotair_VIDIOC_G_CTRL;
extern const unsigned long remotair_VIDIOC_S_CTRL;

extern const size_t remotair_sizeof_v4l2_buffer;
extern const size_t remotair_sizeof_v4l2_format;

/// v4l2_ioctl with a pointer argument (Swift cannot call the variadic prototype).
int remotair_v4l2_ioctl(int fd, unsigned long request, void *arg);
/// ioctl(2) with a pointer argument, for code that bypasses libv4l2.
int remotair_ioctl(int fd, unsigned long request, void *arg);

#endif

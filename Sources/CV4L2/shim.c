#include "CV4L2.h"
#include <sys/ioctl.h>

const unsigned long remotair_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
const unsigned long remotair_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
const unsigned long remotair_VIDIOC_G_FMT = VIDIOC_G_FMT;
const unsigned long remotair_VIDIOC_S_FMT = VIDIOC_S_FMT;
const unsigned long remotair_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
const unsigned long remotair_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
const unsigned long remotair_VIDIOC_QBUF = VIDIOC_QBUF;
const unsigned long remotair_VIDIOC_DQBUF = VIDIOC_DQBUF;
const unsigned long remotair_VIDIOC_STREAMON = VIDIOC_STREAMON;
const unsigned long remotair_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;
const unsigned long remotair_VIDIOC_G_PARM = VIDIOC_G_PARM;
const unsigned long remotair_VIDIOC_S_PARM = VIDIOC_S_PARM;
const unsigned long remotair_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
const unsigned long remotair_VIDIOC_QUERYCTRL = VIDIOC_QUERYCTRL;
const unsigned long remotair_VIDIOC_QUERY_EXT_CTRL = VIDIOC_QUERY_EXT_CTRL;
const unsigned long remotair_VIDIOC_G_CTRL = VIDIOC_G_CTRL;
const unsigned long remotair_VIDIOC_S_CTRL = VIDIOC_S_CTRL;

const size_t remotair_sizeof_v4l2_buffer = sizeof(struct v4l2_buffer);
const size_t remotair_sizeof_v4l2_format = sizeof(struct v4l2_format);

int remotair_v4l2_ioctl(int fd, unsigned long request, void *arg) {
    return v4l2_ioctl(fd, request, arg);
}

int remotair_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

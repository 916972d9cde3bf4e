// libturbojpeg 2.1 (Debian 12 libturbojpeg0-dev), TurboJPEG API 2.x (tj* functions).
#include <stddef.h>
#include <turbojpeg.h>

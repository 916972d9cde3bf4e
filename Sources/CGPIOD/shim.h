// libgpiod 1.6 (Debian 12). The 2.x API is incompatible; GPIO code stays behind the GPIO target's protocol.
#include <gpiod.h>

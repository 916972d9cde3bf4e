// libsystemd (Debian 12: 252): sd_notify, socket activation and the journal's native protocol.
// Linked dynamically: libsystemd0 is on every Debian system that runs systemd.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

// libmosquitto 2.0 (Debian 12: libmosquitto-dev). MQTT 5 reason codes and properties come from mqtt_protocol.h.
#include <mosquitto.h>
#include <mqtt_protocol.h>

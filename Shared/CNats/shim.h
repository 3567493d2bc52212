#ifndef GATEHOUSE_CNATS_SHIM_H
#define GATEHOUSE_CNATS_SHIM_H
#include <nats/nats.h>
#endif

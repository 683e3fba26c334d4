// SPDX-License-Identifier: GPL-2.0
/* The socket filter in its one-program-for-every-netns build: see NETNS_FROM_DEV in
 * dnsreel_pkt.bpf.c. */
#define NETNS_FROM_DEV 1
#include "dnsreel_pkt.bpf.c"

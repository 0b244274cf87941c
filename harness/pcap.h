/* pcap.h — write what the middlebox saw as a pcapng file: every packet
 * with its direction and the engine's verdict in the packet's comment,
 * and the packets the engine made up (RSTs, ICMP, FINs, copies) marked as
 * injected. Wireshark and tshark read it as is. */
#ifndef FW_HARNESS_PCAP_H
#define FW_HARNESS_PCAP_H

#include <stddef.h>
#include <stdint.h>

struct pcap_writer;

/* Create path and write the section and interface headers. NULL with *err
 * (malloc'd) when the file cannot be written. */
struct pcap_writer *pcap_open(const char *path, char **err);

/* One packet: t_ns on the CLOCK_MONOTONIC clock (written as wall-clock
 * time), the bytes at hand (caplen) of a packet of len bytes, dir 1 up
 * (client to server), 2 down, 0 none; note is the verdict or "injected". */
void pcap_write(struct pcap_writer *w, int64_t t_ns, const uint8_t *data, size_t caplen, size_t len, int dir,
                const char *note);

/* Flush and close; returns 0, or -1 when something could not be written. */
int pcap_close(struct pcap_writer *w);

#endif

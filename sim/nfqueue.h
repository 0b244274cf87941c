/* nfqueue.h — the NFQUEUE socket, through libnetfilter_queue's libmnl API.
 *
 * One queue per middlebox namespace. The queue is configured to hand over
 * GSO superpackets whole (NFQA_CFG_F_GSO: fewer, bigger packets, with
 * checksums possibly not filled in yet), to copy only as many bytes as the
 * rules need (headers only unless a rule reads payload), and to keep many
 * packets waiting. It is never set to fail open: if faultwire stops reading,
 * packets stop, so no packet can slip past the faults unseen.
 *
 * Verdicts are collected in a batch and sent with one sendto per read. */
#ifndef FW_SIM_NFQUEUE_H
#define FW_SIM_NFQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct nfqueue;

struct nfqueue_packet {
	uint32_t id;            /* packet id for the verdict */
	const uint8_t *data;    /* the copied bytes, from the IP header on */
	size_t caplen;          /* bytes copied */
	size_t len;             /* the packet's real length (NFQA_CAP_LEN when cut) */
	uint32_t indev;         /* input interface index, 0 when unknown */
};

/* Verdicts, with netfilter's values. */
enum { NFQUEUE_DROP = 0, NFQUEUE_ACCEPT = 1 };

typedef void (*nfqueue_packet_fn)(const struct nfqueue_packet *pkt, void *arg);

/* Open and bind queue `queue` in the calling thread's network namespace,
 * copying copy_range bytes of each packet. With gso, superpackets come
 * whole; without, the kernel cuts them into wire-sized packets first
 * (slower, but every packet can be cut or copied as it will be sent).
 * maxlen: packets the kernel keeps waiting for us (0: 65536); beyond it
 * the kernel drops them, and nfqueue_kernel_drops counts them. NULL with *err (malloc'd). */
struct nfqueue *nfqueue_open(uint16_t queue, uint32_t copy_range, int gso, uint32_t maxlen, char **err);

/* The socket's fd, non-blocking, for the event loop. */
int nfqueue_fd(const struct nfqueue *q);

/* Read what is waiting (at most max_reads datagrams) and call fn for each
 * packet. Returns the number of packets, 0 when nothing was waiting, or -1
 * with *err on a socket error. A lost-messages error (ENOBUFS: the kernel
 * dropped packets it could not hand over) is counted, not returned. */
int nfqueue_receive(struct nfqueue *q, int max_reads, nfqueue_packet_fn fn, void *arg, char **err);

/* Add a verdict (NFQUEUE_ACCEPT or NFQUEUE_DROP) for packet id to the batch; the
 * batch is sent by nfqueue_flush, or sooner when it is full. */
int nfqueue_verdict(struct nfqueue *q, uint32_t id, int verdict, char **err);

/* Like nfqueue_verdict, but the packet goes on as the len bytes at data
 * (a modified copy; its checksums are the caller's business). */
int nfqueue_verdict_packet(struct nfqueue *q, uint32_t id, int verdict, const uint8_t *data, size_t len, char **err);

/* Send the batched verdicts in one sendto. Returns 0 or -1 with *err. */
int nfqueue_flush(struct nfqueue *q, char **err);

/* Times the socket reported lost messages (ENOBUFS). */
uint64_t nfqueue_overruns(const struct nfqueue *q);

/* Packets the kernel dropped on this queue (queue full or not delivered to
 * us), from /proc/thread-self/net/netfilter/nfnetlink_queue of the calling
 * thread's namespace; -1 when it cannot be read. */
int64_t nfqueue_kernel_drops(uint16_t queue);

void nfqueue_close(struct nfqueue *q);

#endif

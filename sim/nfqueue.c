/* nfqueue.c — NFQUEUE I/O over libmnl; see nfqueue.h. */
#include "sim/nfqueue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* Big enough for a burst of header-only copies; a full-payload copy of a
 * 64 KiB GSO packet fits too. */
#define NFQUEUE_RECV_BUFFER (256 * 1024)
#define NFQUEUE_BATCH_BUFFER (64 * 1024)
/* Room for packets waiting in the kernel, and for their netlink copies. */
#define NFQUEUE_QUEUE_MAXLEN 65536
#define NFQUEUE_SOCKET_BUFFER (16 * 1024 * 1024)

struct nfqueue {
	struct mnl_socket *socket;
	uint16_t queue;
	unsigned int portid;
	uint8_t *recv_buffer;
	uint8_t *batch;
	size_t batch_len;
	uint64_t overruns;
	nfqueue_packet_fn fn;
	void *fn_arg;
};

static int nfqueue_send_config(struct nfqueue *q, struct nlmsghdr *nlh, char **err, const char *what)
{
	if (mnl_socket_sendto(q->socket, nlh, nlh->nlmsg_len) < 0) {
		if (asprintf(err, "NFQUEUE %s: %s", what, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	/* The kernel answers with an ack (or an error) to NLM_F_ACK. */
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n = mnl_socket_recvfrom(q->socket, buf, sizeof buf);
	if (n < 0 || mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, q->portid, NULL, NULL) < 0) {
		if (asprintf(err, "NFQUEUE %s: %s", what, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}

struct nfqueue *nfqueue_open(uint16_t queue, uint32_t copy_range, int gso, uint32_t maxlen, char **err)
{
	struct nfqueue *q = calloc(1, sizeof *q);
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh;
	uint32_t seq = 1;

	if (!q)
		goto fail_errno;
	q->queue = queue;
	q->recv_buffer = malloc(NFQUEUE_RECV_BUFFER);
	q->batch = calloc(1, NFQUEUE_BATCH_BUFFER);
	if (!q->recv_buffer || !q->batch)
		goto fail_errno;
	q->socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!q->socket || mnl_socket_bind(q->socket, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail_errno;
	q->portid = mnl_socket_get_portid(q->socket);

	/* The config exchange below is synchronous: make the socket block for it. */
	int fd = mnl_socket_get_fd(q->socket);
	int bufsize = NFQUEUE_SOCKET_BUFFER;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int one = 1;
	/* Errors come back as messages so that a failing verdict is noticed. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq++;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (nfqueue_send_config(q, nlh, err, "bind queue") < 0)
		goto fail;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq++;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, copy_range);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(gso ? NFQA_CFG_F_GSO : 0));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen ? maxlen : NFQUEUE_QUEUE_MAXLEN));
	if (nfqueue_send_config(q, nlh, err, "configure queue") < 0)
		goto fail;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ 0 }, sizeof tv) < 0)
		goto fail_errno;
	return q;

fail_errno:
	if (asprintf(err, "NFQUEUE socket: %s", strerror(errno)) < 0)
		*err = NULL;
fail:
	nfqueue_close(q);
	return NULL;
}

int nfqueue_fd(const struct nfqueue *q)
{
	return mnl_socket_get_fd(q->socket);
}

static int nfqueue_packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nfqueue *q = data;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	struct nfqueue_packet pkt = { .id = ntohl(ph->packet_id) };
	if (attr[NFQA_PAYLOAD]) {
		pkt.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		pkt.caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	pkt.len = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : pkt.caplen;
	if (attr[NFQA_IFINDEX_INDEV])
		pkt.indev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	q->fn(&pkt, q->fn_arg);
	return MNL_CB_OK;
}

int nfqueue_receive(struct nfqueue *q, int max_reads, nfqueue_packet_fn fn, void *arg, char **err)
{
	int packets = 0;
	q->fn = fn;
	q->fn_arg = arg;
	for (int i = 0; i < max_reads; i++) {
		ssize_t n = mnl_socket_recvfrom(q->socket, q->recv_buffer, NFQUEUE_RECV_BUFFER);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == ENOBUFS) {
				q->overruns++;
				continue;
			}
			if (asprintf(err, "NFQUEUE receive: %s", strerror(errno)) < 0)
				*err = NULL;
			return -1;
		}
		/* Count packets by walking messages; mnl_cb_run calls back per message. */
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)q->recv_buffer;
		int len = (int)n;
		while (mnl_nlmsg_ok(nlh, len)) {
			if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
				packets++;
			nlh = mnl_nlmsg_next(nlh, &len);
		}
		if (mnl_cb_run(q->recv_buffer, (size_t)n, 0, q->portid, nfqueue_packet_cb, q) < 0 && errno != 0 &&
		    errno != EAGAIN) {
			if (asprintf(err, "NFQUEUE message: %s", strerror(errno)) < 0)
				*err = NULL;
			return -1;
		}
	}
	return packets;
}

int nfqueue_verdict(struct nfqueue *q, uint32_t id, int verdict, char **err)
{
	/* A verdict message is well under 64 bytes. */
	if (q->batch_len + 64 > NFQUEUE_BATCH_BUFFER && nfqueue_flush(q, err) < 0)
		return -1;
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)q->batch + q->batch_len, NFQNL_MSG_VERDICT, q->queue);
	nfq_nlmsg_verdict_put(nlh, id, verdict);
	q->batch_len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

int nfqueue_verdict_packet(struct nfqueue *q, uint32_t id, int verdict, const uint8_t *data, size_t len, char **err)
{
	if (len + 64 > NFQUEUE_BATCH_BUFFER) {
		if (asprintf(err, "NFQUEUE verdict: a %zu-byte packet does not fit a verdict message", len) < 0)
			*err = NULL;
		return -1;
	}
	if (q->batch_len + len + 64 > NFQUEUE_BATCH_BUFFER && nfqueue_flush(q, err) < 0)
		return -1;
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)q->batch + q->batch_len, NFQNL_MSG_VERDICT, q->queue);
	nfq_nlmsg_verdict_put(nlh, id, verdict);
	nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
	q->batch_len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

int nfqueue_flush(struct nfqueue *q, char **err)
{
	if (!q->batch_len)
		return 0;
	ssize_t n = mnl_socket_sendto(q->socket, q->batch, q->batch_len);
	/* Attribute padding is not always written: keep the buffer zeroed. */
	memset(q->batch, 0, q->batch_len);
	q->batch_len = 0;
	if (n < 0) {
		if (asprintf(err, "NFQUEUE verdict: %s", strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}

uint64_t nfqueue_overruns(const struct nfqueue *q)
{
	return q->overruns;
}

int64_t nfqueue_kernel_drops(uint16_t queue)
{
	FILE *f = fopen("/proc/thread-self/net/netfilter/nfnetlink_queue", "r");
	if (!f)
		return -1;
	/* queue_number portid queue_total copy_mode copy_range queue_dropped
	 * user_dropped id_sequence 1 */
	unsigned number, portid, total, mode, range;
	unsigned long long dropped, user_dropped, id;
	int64_t result = 0;
	while (fscanf(f, "%u %u %u %u %u %llu %llu %llu %*u", &number, &portid, &total, &mode, &range,
	              &dropped, &user_dropped, &id) == 8)
		if (number == queue)
			result = (int64_t)(dropped + user_dropped);
	fclose(f);
	return result;
}

void nfqueue_close(struct nfqueue *q)
{
	if (!q)
		return;
	if (q->socket)
		mnl_socket_close(q->socket);
	free(q->recv_buffer);
	free(q->batch);
	free(q);
}

/* netns.c — builds the private network of one run (see netns.h for the
 * picture): three anonymous network namespaces held only by fds, two veth
 * pairs made from inside mid with their peers placed straight into client
 * and server, and the addresses, routes and forwarding, all over rtnetlink.
 *
 * Nothing here ever acts on the caller's namespace. Namespace switches are
 * per thread (several runs may build their networks in parallel), so every
 * path goes through /proc/thread-self, never /proc/self. A thread only
 * enters a new namespace to make it, write its sysctls and open a netlink
 * socket there; the socket stays bound to that namespace, so all later
 * requests are sent from the caller's namespace without switching again. */
#include "harness/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#define THREAD_NETNS "/proc/thread-self/ns/net"

/* The kernel gives lo this index in every namespace. */
#define LOOPBACK_IFINDEX 1

/* How long the veths may take to be ready to carry packets. */
#define LINK_READY_TIMEOUT_NS (2 * 1000000000LL)

/* How much of a failed command's stderr netns_run keeps for *err. */
#define RUN_STDERR_KEEP 1024

enum side_id { SIDE_CLIENT, SIDE_MID, SIDE_SERVER, SIDE_COUNT };

/* One namespace while it is being built. */
struct netns_side {
	const char *name;          /* "client", "mid", "server", for messages */
	int ns_fd;                 /* -1 until made; moved into the topology at the end */
	struct mnl_socket *nl;     /* rtnetlink socket opened inside this namespace */
	unsigned int seq;
};

/* The four ends of the two veth pairs. */
enum end_id { END_MID_CLIENT, END_MID_SERVER, END_CLIENT, END_SERVER, END_COUNT };

struct veth_end {
	enum side_id side;
	const char *ifname;
	int ifindex;               /* 0 until asked from the kernel */
};

/* The addressing plan of netns.h; the family follows from the text. */
static const struct {
	enum end_id end;
	const char *address;
	unsigned char prefix;
} address_plan[] = {
	{ END_MID_CLIENT, "198.18.0.1", 24 },
	{ END_MID_CLIENT, "2001:db8:c::1", 64 },
	{ END_MID_SERVER, "198.19.0.1", 24 },
	{ END_MID_SERVER, "2001:db8:5::1", 64 },
	{ END_CLIENT, "198.18.0.2", 24 },
	{ END_CLIENT, "2001:db8:c::2", 64 },
	{ END_SERVER, "198.19.0.2", 24 },
	{ END_SERVER, "2001:db8:5::2", 64 },
};

/* Default routes of client and server, through mid. */
static const struct {
	enum end_id end;
	const char *gateway;
} route_plan[] = {
	{ END_CLIENT, "198.18.0.1" },
	{ END_CLIENT, "2001:db8:c::1" },
	{ END_SERVER, "198.19.0.1" },
	{ END_SERVER, "2001:db8:5::1" },
};

/* Written in every new namespace before its veth exists, so that the veth
 * inherits them through "default": without DAD and router solicitation
 * handling, IPv6 (link-local included) is usable the moment the link is up. */
static const char *const quiet_ipv6_sysctls[] = {
	"net/ipv6/conf/all/accept_dad",
	"net/ipv6/conf/default/accept_dad",
	"net/ipv6/conf/all/accept_ra",
	"net/ipv6/conf/default/accept_ra",
};

static const char *const mid_forwarding_sysctls[] = {
	"net/ipv4/ip_forward",
	"net/ipv6/conf/all/forwarding",
};

/* What an rtnetlink answer is parsed into. */
struct nl_reply {
	void *user;                /* for the data callback */
	char kernel_msg[256];      /* the extended ack text of an error, "" if none */
};

struct link_state {
	int ifindex;
	int operstate;             /* IF_OPER_*, -1 when not reported */
};

/* Fill *err (when err is not NULL) with "<what>: <errno text>", followed by
 * the kernel's own explanation when it gave one. Returns -1, so that callers
 * can return it directly. */
static int vfail(char **err, int errnum, const char *kernel_msg, const char *fmt, va_list ap)
{
	char *what = NULL;
	char errbuf[128];
	bool has_msg = kernel_msg && kernel_msg[0];

	if (!err)
		return -1;
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	if (asprintf(err, "%s: %s%s%s%s", what ? what : "netns",
	             strerror_r(errnum, errbuf, sizeof errbuf),
	             has_msg ? " (" : "", has_msg ? kernel_msg : "", has_msg ? ")" : "") < 0)
		*err = NULL;
	free(what);
	return -1;
}

static int fail(char **err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, errnum, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

static int nl_ack_attr(const struct nlattr *attr, void *data)
{
	struct nl_reply *reply = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(reply->kernel_msg, sizeof reply->kernel_msg, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* Replaces libmnl's NLMSG_ERROR handler to also keep the extended ack
 * message: "File exists" alone rarely says which part of a request failed. */
static int nl_ack(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *ack = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof *ack;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *ack)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (ack->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			offset += ack->msg.nlmsg_len - sizeof ack->msg;
		if (offset < mnl_nlmsg_get_payload_len(nlh))
			mnl_attr_parse(nlh, offset, nl_ack_attr, data);
	}
	errno = ack->error < 0 ? -ack->error : ack->error;
	return MNL_CB_ERROR;
}

/* Send one request from side's socket with NLM_F_ACK and read answers up to
 * the ack; cb (may be NULL) sees each answer with a struct nl_reply whose
 * user is data. Returns 0, or -1 with *err "<what>: <why>". */
static int nl_request(struct netns_side *side, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                      char **err, const char *fmt, ...)
{
	/* Never written; not const only because libmnl's prototype is not. */
	static mnl_cb_t control[NLMSG_ERROR + 1] = { [NLMSG_ERROR] = nl_ack };
	struct nl_reply reply = { .user = data };
	char buf[16384];
	unsigned int portid = mnl_socket_get_portid(side->nl);
	ssize_t n;
	int ret = -1, run;
	va_list ap;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++side->seq;
	if (mnl_socket_sendto(side->nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	do {
		n = mnl_socket_recvfrom(side->nl, buf, sizeof buf);
		if (n < 0)
			goto out;
		run = mnl_cb_run2(buf, n, nlh->nlmsg_seq, portid, cb, &reply,
		                  control, NLMSG_ERROR + 1);
	} while (run == MNL_CB_OK);
	if (run == MNL_CB_ERROR)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		int errnum = errno;

		va_start(ap, fmt);
		vfail(err, errnum, reply.kernel_msg, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int write_sysctl(const struct netns_side *side, const char *path, const char *value, char **err)
{
	char full[128];
	size_t len = strlen(value);
	int fd = -1, ret = -1;

	snprintf(full, sizeof full, "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len) {
		fail(err, errno, "set %s=%s in %s", path, value, side->name);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Make side's namespace and come back to home_ns. While inside, write the
 * sysctls, with IPv4 and IPv6 forwarding on when asked (files under
 * /proc/sys/net belong to the namespace of the thread that opens them), and
 * open the rtnetlink socket that will configure it. */
static int side_make(struct netns_side *side, int home_ns, bool forwarding, char **err)
{
	bool away = false;
	size_t i;
	int one = 1;
	int ret = -1;

	if (unshare(CLONE_NEWNET) < 0) {
		fail(err, errno, "create the %s namespace", side->name);
		goto out;
	}
	away = true;
	side->ns_fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (side->ns_fd < 0) {
		fail(err, errno, "open the %s namespace", side->name);
		goto out;
	}
	for (i = 0; i < sizeof quiet_ipv6_sysctls / sizeof quiet_ipv6_sysctls[0]; i++)
		if (write_sysctl(side, quiet_ipv6_sysctls[i], "0", err) < 0)
			goto out;
	if (forwarding)
		for (i = 0; i < sizeof mid_forwarding_sysctls / sizeof mid_forwarding_sysctls[0]; i++)
			if (write_sysctl(side, mid_forwarding_sysctls[i], "1", err) < 0)
				goto out;
	/* CLOEXEC: a run forked meanwhile by another thread must not keep the
	 * namespace alive through this socket. */
	side->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!side->nl || mnl_socket_bind(side->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		fail(err, errno, "open an rtnetlink socket in %s", side->name);
		goto out;
	}
	/* Extended acks are an extra; older kernels just do without them. */
	mnl_socket_setsockopt(side->nl, NETLINK_EXT_ACK, &one, sizeof one);
	mnl_socket_setsockopt(side->nl, NETLINK_CAP_ACK, &one, sizeof one);
	ret = 0;
out:
	if (away && setns(home_ns, CLONE_NEWNET) < 0) {
		int errnum = errno;

		/* The more serious failure replaces the message of the first. */
		if (ret < 0 && err)
			free(*err);
		fail(err, errnum, "return from the %s namespace", side->name);
		ret = -1;
	}
	return ret;
}

/* In mid, create veth <name> with its peer "eth0" placed directly into
 * peer's namespace, so that the pair never exists anywhere else. */
static int veth_create(struct netns_side *mid, const char *name, const struct netns_side *peer,
                       char **err)
{
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nlattr *linkinfo, *data, *peer_info;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer->ns_fd);
	mnl_attr_nest_end(nlh, peer_info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_request(mid, nlh, NULL, NULL, err, "create veth %s in %s (peer eth0 in %s)",
	                  name, mid->name, peer->name);
}

static int link_state_attr(const struct nlattr *attr, void *data)
{
	struct link_state *state = data;

	if (mnl_attr_get_type(attr) == IFLA_OPERSTATE && mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
		state->operstate = mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

static int link_state_answer(const struct nlmsghdr *nlh, void *data)
{
	struct nl_reply *reply = data;
	struct link_state *state = reply->user;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof *ifm))
		return MNL_CB_OK;
	state->ifindex = ifm->ifi_index;
	return mnl_attr_parse(nlh, sizeof *ifm, link_state_attr, state);
}

static int link_query(struct netns_side *side, const char *ifname, struct link_state *state,
                      char **err)
{
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_GETLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	state->ifindex = 0;
	state->operstate = -1;
	if (nl_request(side, nlh, link_state_answer, state, err, "look up %s in %s",
	               ifname, side->name) < 0)
		return -1;
	if (state->ifindex <= 0)
		return fail(err, ENODEV, "look up %s in %s", ifname, side->name);
	return 0;
}

static int link_set_up(struct netns_side *side, int ifindex, const char *ifname, char **err)
{
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return nl_request(side, nlh, NULL, NULL, err, "set %s up in %s", ifname, side->name);
}

/* Parse an address of the plan; they are constants, so a failure is a bug
 * in this file, reported like any other error all the same. */
static int parse_address(const char *text, int *family, unsigned char bytes[16], char **err)
{
	*family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*family, text, bytes) != 1)
		return fail(err, EINVAL, "parse address %s", text);
	return 0;
}

static int address_add(struct netns_side *side, const struct veth_end *end, const char *text,
                       unsigned char prefix, char **err)
{
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned char bytes[16];
	size_t len;
	int family;

	if (parse_address(text, &family, bytes, err) < 0)
		return -1;
	len = family == AF_INET ? 4 : 16;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = end->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, len, bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, len, bytes);
	/* NODAD lives in the 32-bit IFA_FLAGS: without it the address would
	 * stay tentative, and unusable, for a second or more. */
	if (family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nl_request(side, nlh, NULL, NULL, err, "add address %s/%u to %s in %s",
	                  text, prefix, end->ifname, side->name);
}

static int route_add_default(struct netns_side *side, const struct veth_end *end,
                             const char *gateway, char **err)
{
	/* Zeroed: attribute padding goes to the kernel too. */
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	unsigned char bytes[16];
	int family;

	if (parse_address(gateway, &family, bytes, err) < 0)
		return -1;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)end->ifindex);
	return nl_request(side, nlh, NULL, NULL, err, "add default route via %s on %s in %s",
	                  gateway, end->ifname, side->name);
}

static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wait until every veth end is operationally up. The kernel attaches a
 * veth's real queueing discipline only then (asynchronously, from its link
 * watch), and drops what is sent before: a run starting at once would lose
 * its first SYN and wait a second for the retransmission. */
static int links_wait_ready(struct netns_side sides[], const struct veth_end ends[], char **err)
{
	const struct timespec pause = { .tv_nsec = 50 * 1000 };
	long long deadline = monotonic_ns() + LINK_READY_TIMEOUT_NS;
	struct link_state state;
	int i;

	for (i = 0; i < END_COUNT; i++) {
		for (;;) {
			if (link_query(&sides[ends[i].side], ends[i].ifname, &state, err) < 0)
				return -1;
			if (state.operstate == IF_OPER_UP)
				break;
			if (monotonic_ns() > deadline)
				return fail(err, ETIMEDOUT, "wait for %s in %s to come up (operstate %d)",
				            ends[i].ifname, sides[ends[i].side].name, state.operstate);
			nanosleep(&pause, NULL);
		}
	}
	return 0;
}

int topology_create(struct topology *t, char **err)
{
	struct netns_side sides[SIDE_COUNT] = {
		[SIDE_CLIENT] = { .name = "client", .ns_fd = -1 },
		[SIDE_MID] = { .name = "mid", .ns_fd = -1 },
		[SIDE_SERVER] = { .name = "server", .ns_fd = -1 },
	};
	struct veth_end ends[END_COUNT] = {
		[END_MID_CLIENT] = { SIDE_MID, "c0", 0 },
		[END_MID_SERVER] = { SIDE_MID, "s0", 0 },
		[END_CLIENT] = { SIDE_CLIENT, "eth0", 0 },
		[END_SERVER] = { SIDE_SERVER, "eth0", 0 },
	};
	struct link_state state;
	int home_ns = -1;
	int ret = -1;
	size_t i;

	t->client_ns = t->mid_ns = t->server_ns = -1;
	t->mid_client_ifindex = t->mid_server_ifindex = 0;

	home_ns = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (home_ns < 0) {
		fail(err, errno, "open the caller's namespace");
		goto out;
	}
	for (i = 0; i < SIDE_COUNT; i++)
		if (side_make(&sides[i], home_ns, i == SIDE_MID, err) < 0)
			goto out;

	if (veth_create(&sides[SIDE_MID], "c0", &sides[SIDE_CLIENT], err) < 0 ||
	    veth_create(&sides[SIDE_MID], "s0", &sides[SIDE_SERVER], err) < 0)
		goto out;
	for (i = 0; i < END_COUNT; i++) {
		if (link_query(&sides[ends[i].side], ends[i].ifname, &state, err) < 0)
			goto out;
		ends[i].ifindex = state.ifindex;
	}

	for (i = 0; i < SIDE_COUNT; i++)
		if (link_set_up(&sides[i], LOOPBACK_IFINDEX, "lo", err) < 0)
			goto out;
	for (i = 0; i < END_COUNT; i++)
		if (link_set_up(&sides[ends[i].side], ends[i].ifindex, ends[i].ifname, err) < 0)
			goto out;

	for (i = 0; i < sizeof address_plan / sizeof address_plan[0]; i++) {
		const struct veth_end *end = &ends[address_plan[i].end];

		if (address_add(&sides[end->side], end, address_plan[i].address,
		                address_plan[i].prefix, err) < 0)
			goto out;
	}
	for (i = 0; i < sizeof route_plan / sizeof route_plan[0]; i++) {
		const struct veth_end *end = &ends[route_plan[i].end];

		if (route_add_default(&sides[end->side], end, route_plan[i].gateway, err) < 0)
			goto out;
	}
	if (links_wait_ready(sides, ends, err) < 0)
		goto out;

	t->client_ns = sides[SIDE_CLIENT].ns_fd;
	t->mid_ns = sides[SIDE_MID].ns_fd;
	t->server_ns = sides[SIDE_SERVER].ns_fd;
	t->mid_client_ifindex = ends[END_MID_CLIENT].ifindex;
	t->mid_server_ifindex = ends[END_MID_SERVER].ifindex;
	for (i = 0; i < SIDE_COUNT; i++)
		sides[i].ns_fd = -1;
	ret = 0;
out:
	/* The namespaces live only through these fds and sockets: closing them
	 * undoes everything made so far. */
	for (i = 0; i < SIDE_COUNT; i++) {
		if (sides[i].nl)
			mnl_socket_close(sides[i].nl);
		if (sides[i].ns_fd >= 0)
			close(sides[i].ns_fd);
	}
	if (home_ns >= 0)
		close(home_ns);
	return ret;
}

void topology_destroy(struct topology *t)
{
	int *fds[] = { &t->client_ns, &t->mid_ns, &t->server_ns };
	size_t i;

	for (i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int netns_enter(int ns_fd, int *saved, char **err)
{
	int home = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);

	*saved = -1;
	if (home < 0)
		return fail(err, errno, "open the current namespace");
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		fail(err, errno, "enter namespace fd %d", ns_fd);
		close(home);
		return -1;
	}
	*saved = home;
	return 0;
}

void netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Cannot fail for an fd netns_enter opened, short of the kernel running
	 * out of memory; and a thread left behind would stay in a private
	 * namespace, never in anyone else's. */
	(void)setns(saved, CLONE_NEWNET);
	close(saved);
}

/* What the child of netns_run tells its parent when it cannot exec. */
struct run_failure {
	int step;                  /* index into run_steps */
	int errnum;
};

static const char *const run_steps[] = {
	"set the parent-death signal for",
	"enter the namespace to run",
	"redirect standard input and error of",
	"execute",
};

/* In the child of netns_run, between fork and exec: only async-signal-safe
 * calls, since the parent may have other threads. Never returns. */
static void run_child(int ns_fd, char *const argv[], pid_t parent, int stdin_fd, int stderr_fd,
                      int report_fd)
{
	struct run_failure failure = { 0, 0 };
	sigset_t none;

	/* The command must not outlive the thread that waits for it. The
	 * parent may have died before the signal was armed: check after. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		goto fail;
	failure.step++;
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		goto fail;
	failure.step++;
	if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(stderr_fd, STDERR_FILENO) < 0)
		goto fail;
	/* Give the command the signal state of a fresh process, whatever the
	 * calling thread blocked or the program ignored. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	failure.step++;
	execvp(argv[0], argv);
fail:
	failure.errnum = errno;
	if (write(report_fd, &failure, sizeof failure) < 0) {
		/* nothing more to say */
	}
	_exit(127);
}

/* argv as one line for messages, e.g. "sh -c 'cat >&2'". malloc'd. */
static char *command_text(char *const argv[])
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	int i;

	if (!out)
		return NULL;
	for (i = 0; argv[i]; i++) {
		bool quote = argv[i][0] == '\0' || strpbrk(argv[i], " \t\n'\"\\$&|;<>*?") != NULL;

		fprintf(out, quote ? "%s'%s'" : "%s%s", i ? " " : "", argv[i]);
	}
	fclose(out);
	return text;
}

/* Feed text to in_fd (non-blocking) and collect err_fd until both are done,
 * keeping the first `keep` bytes of err_fd in kept. Both fds are closed.
 * Going both ways at once matters: a command may fill its stderr pipe before
 * reading all of its stdin. Returns 0, or -1 with errno set. */
static int run_exchange(int in_fd, const char *text, int err_fd, char *kept, size_t keep,
                        size_t *kept_len)
{
	size_t to_write = text ? strlen(text) : 0, written = 0;
	char chunk[4096];
	int ret = -1;

	*kept_len = 0;
	if (written == to_write) {
		close(in_fd);
		in_fd = -1;
	}
	while (in_fd >= 0 || err_fd >= 0) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		ssize_t got;

		if (in_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		if (err_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (in_fd >= 0 && pfd[0].revents) {
			got = write(in_fd, text + written, to_write - written);
			if (got < 0 && errno != EAGAIN && errno != EINTR && errno != EPIPE)
				goto out;
			if (got > 0)
				written += (size_t)got;
			/* EPIPE: the command exited or closed its input without
			 * reading it all, which is its business. */
			if (written == to_write || (got < 0 && errno == EPIPE)) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (err_fd >= 0 && pfd[n - 1].revents) {
			got = read(err_fd, chunk, sizeof chunk);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				close(err_fd);
				err_fd = -1;
				continue;
			}
			if (*kept_len < keep) {
				size_t take = (size_t)got < keep - *kept_len ? (size_t)got : keep - *kept_len;

				memcpy(kept + *kept_len, chunk, take);
				*kept_len += take;
			}
		}
	}
	ret = 0;
out:
	if (ret < 0) {
		int errnum = errno;

		if (in_fd >= 0)
			close(in_fd);
		if (err_fd >= 0)
			close(err_fd);
		errno = errnum;
	}
	return ret;
}

int netns_run(int ns_fd, char *const argv[], const char *stdin_text, char **err)
{
	int in_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, report_pipe[2] = { -1, -1 };
	char kept[RUN_STDERR_KEEP + 1];
	size_t kept_len = 0;
	struct run_failure failure;
	sigset_t sigpipe, old_mask, pending;
	bool sigpipe_blocked = false, sigpipe_was_pending = false;
	char *command = NULL;
	pid_t parent = getpid(), pid = -1;
	int status, ret = -1, exchange, i;

	if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
	    pipe2(report_pipe, O_CLOEXEC) < 0) {
		fail(err, errno, "make pipes to run %s", argv[0]);
		goto out;
	}
	if (fcntl(in_pipe[1], F_SETFL, O_NONBLOCK) < 0) {
		fail(err, errno, "make the input of %s non-blocking", argv[0]);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fail(err, errno, "fork to run %s", argv[0]);
		goto out;
	}
	if (pid == 0)
		run_child(ns_fd, argv, parent, in_pipe[0], err_pipe[1], report_pipe[1]);
	close(in_pipe[0]);
	close(err_pipe[1]);
	close(report_pipe[1]);
	in_pipe[0] = err_pipe[1] = report_pipe[1] = -1;

	/* A command that exits without reading its input would otherwise kill
	 * the whole program with SIGPIPE. The signal is sent to the writing
	 * thread, so blocking it here and taking back the one we caused leaves
	 * the rest of the process as it was. */
	sigemptyset(&sigpipe);
	sigaddset(&sigpipe, SIGPIPE);
	sigpipe_blocked = pthread_sigmask(SIG_BLOCK, &sigpipe, &old_mask) == 0;
	sigpipe_was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);

	exchange = run_exchange(in_pipe[1], stdin_text, err_pipe[0], kept, RUN_STDERR_KEEP, &kept_len);
	in_pipe[1] = err_pipe[0] = -1;
	if (exchange < 0)
		fail(err, errno, "talk to %s", argv[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			if (exchange == 0)
				fail(err, errno, "wait for %s", argv[0]);
			goto out;
		}
	}
	pid = -1;
	if (exchange < 0)
		goto out;

	if (read(report_pipe[0], &failure, sizeof failure) == (ssize_t)sizeof failure) {
		fail(err, failure.errnum, "%s %s", run_steps[failure.step], argv[0]);
		goto out;
	}
	command = command_text(argv);
	while (kept_len > 0 && (kept[kept_len - 1] == '\n' || kept[kept_len - 1] == '\r'))
		kept_len--;
	kept[kept_len] = '\0';
	if (WIFEXITED(status)) {
		ret = WEXITSTATUS(status);
		if (ret != 0 && err &&
		    asprintf(err, "%s exited with status %d%s%s", command ? command : argv[0], ret,
		             kept_len ? ": " : "", kept) < 0)
			*err = NULL;
	} else {
		ret = 128 + WTERMSIG(status);
		if (err && asprintf(err, "%s was killed by signal %d (%s)%s%s",
		                    command ? command : argv[0], WTERMSIG(status),
		                    sigdescr_np(WTERMSIG(status)) ? sigdescr_np(WTERMSIG(status)) : "?",
		                    kept_len ? ": " : "", kept) < 0)
			*err = NULL;
	}
out:
	if (pid > 0) {
		/* Only reached when waitpid itself failed: do not leave a zombie
		 * running behind. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (sigpipe_blocked) {
		const struct timespec now = { 0, 0 };

		if (!sigpipe_was_pending)
			while (sigtimedwait(&sigpipe, NULL, &now) == SIGPIPE)
				;
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	}
	for (i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
		if (report_pipe[i] >= 0)
			close(report_pipe[i]);
	}
	free(command);
	return ret;
}

/* netns.h — the private network of one run: three anonymous network
 * namespaces (client, mid, server) joined by two veth pairs, with the
 * addresses, routes and forwarding of DESIGN.md, set up over rtnetlink.
 *
 *   client 198.18.0.2/24 2001:db8:c::2/64  ── eth0 | c0 ──  mid 198.18.0.1 2001:db8:c::1
 *   server 198.19.0.2/24 2001:db8:5::2/64  ── eth0 | s0 ──  mid 198.19.0.1 2001:db8:5::1
 *
 * The namespaces are held only by file descriptors, never named under
 * /var/run/netns, so they vanish with the process even when it is killed.
 * Nothing is ever added to the caller's own namespace. All functions are
 * thread-safe in the sense that they change the namespace of the calling
 * thread only, and always put it back. */
#ifndef FW_HARNESS_NETNS_H
#define FW_HARNESS_NETNS_H

struct topology {
	int client_ns, mid_ns, server_ns;  /* namespace fds, -1 when not open */
	int mid_client_ifindex;            /* ifindex of c0 (the client side) in mid */
	int mid_server_ifindex;            /* ifindex of s0 (the server side) in mid */
};

/* Make the three namespaces, both veth pairs, bring every link (and lo) up,
 * assign the addresses (IPv6 without duplicate address detection, so they are
 * usable at once), the default routes of client and server, and turn on IPv4
 * and IPv6 forwarding in mid. Returns 0, or -1 with *err (malloc'd, the
 * caller frees) saying which step failed and the errno text; on failure
 * everything made so far is released. */
int topology_create(struct topology *t, char **err);

/* Close the namespace fds; the kernel then removes the namespaces and links. */
void topology_destroy(struct topology *t);

/* Switch the calling thread into ns_fd, saving the namespace it was in into
 * *saved (an fd the caller passes to netns_leave). Returns 0 or -1 with *err. */
int netns_enter(int ns_fd, int *saved, char **err);

/* Switch the calling thread back to saved and close it. */
void netns_leave(int saved);

/* Run argv (looked up in PATH) inside ns_fd in a child process, with
 * stdin_text (may be NULL) on its standard input, and wait for it. Returns
 * its exit status (0 on success), or -1 with *err when it could not be run;
 * a non-zero exit also fills *err with the command and what it printed on
 * stderr (first 1 KiB). */
int netns_run(int ns_fd, char *const argv[], const char *stdin_text, char **err);

#endif

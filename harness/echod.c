/* echod.c — the built-in TCP echo server; see echod.h. */
#include "harness/echod.h"
#include "harness/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

struct echod {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *stop_event;
	pthread_t thread;
	int thread_started;
	_Atomic uint64_t connections, bytes;
	struct bufferevent **open;   /* connections still open, freed at stop */
	size_t open_count, open_capacity;
};

static void echod_forget(struct echod *e, struct bufferevent *bev)
{
	for (size_t i = 0; i < e->open_count; i++)
		if (e->open[i] == bev) {
			e->open[i] = e->open[--e->open_count];
			return;
		}
}

static void echod_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg);
static void echod_on_read(struct bufferevent *bev, void *arg);
static void echod_on_event(struct bufferevent *bev, short what, void *arg);
static void echod_on_stop(evutil_socket_t fd, short what, void *arg);

static void echod_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct echod *e = arg;
	(void)l;
	(void)sa;
	(void)len;
	struct bufferevent *bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	if (e->open_count == e->open_capacity) {
		size_t cap = e->open_capacity ? e->open_capacity * 2 : 16;
		struct bufferevent **v = realloc(e->open, cap * sizeof *v);
		if (!v) {
			bufferevent_free(bev);
			return;
		}
		e->open = v;
		e->open_capacity = cap;
	}
	e->open[e->open_count++] = bev;
	atomic_fetch_add(&e->connections, 1);
	bufferevent_setcb(bev, echod_on_read, NULL, echod_on_event, e);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void echod_on_read(struct bufferevent *bev, void *arg)
{
	struct echod *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	atomic_fetch_add(&e->bytes, evbuffer_get_length(in));
	bufferevent_write_buffer(bev, in);
}

static void echod_on_event(struct bufferevent *bev, short what, void *arg)
{
	/* End of the client's stream, or an error (a reset): the connection
	 * is over. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		echod_forget(arg, bev);
		bufferevent_free(bev);
	}
}

static void echod_on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(((struct echod *)arg)->base);
}

static void *echod_thread(void *arg)
{
	event_base_dispatch(((struct echod *)arg)->base);
	return NULL;
}

struct echod *echod_start(int ns_fd, uint16_t port, char **err)
{
	struct echod *e = calloc(1, sizeof *e);
	int fd = -1;
	serve_threads_init();
	if (!e) {
		*err = strdup("echo server: out of memory");
		return NULL;
	}
	fd = serve_socket(ns_fd, SOCK_STREAM, port, "echo server", err);
	if (fd < 0)
		goto fail;
	e->base = event_base_new();
	e->listener = e->base ? evconnlistener_new(e->base, echod_on_accept, e, LEV_OPT_CLOSE_ON_FREE, -1, fd) : NULL;
	if (!e->listener) {
		close(fd);
		*err = strdup("echo server: cannot start its event loop");
		goto fail;
	}
	e->stop_event = event_new(e->base, -1, 0, echod_on_stop, e);
	/* Writing to a reset connection must not kill the process. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = e->stop_event ? pthread_create(&e->thread, NULL, echod_thread, e) : -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*err = strdup("echo server: cannot start its thread");
		goto fail;
	}
	e->thread_started = 1;
	return e;
fail:
	echod_free(e);
	return NULL;
}

void echod_counts(const struct echod *e, uint64_t *connections, uint64_t *bytes)
{
	*connections = e ? atomic_load(&e->connections) : 0;
	*bytes = e ? atomic_load(&e->bytes) : 0;
}

void echod_free(struct echod *e)
{
	if (!e)
		return;
	if (e->thread_started) {
		/* event_active is safe from another thread only with evthread
		 * locks, which httpd turns on for the whole process. */
		event_active(e->stop_event, EV_TIMEOUT, 0);
		pthread_join(e->thread, NULL);
	}
	for (size_t i = 0; i < e->open_count; i++)
		bufferevent_free(e->open[i]);
	free(e->open);
	if (e->listener)
		evconnlistener_free(e->listener);
	if (e->stop_event)
		event_free(e->stop_event);
	if (e->base)
		event_base_free(e->base);
	free(e);
}

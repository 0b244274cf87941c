/* flow.c — the connection table; see flow.h. */
#include "sim/flow.h"

#include <netinet/in.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct flow_table {
	uint64_t seed;
	struct flow **buckets;
	size_t bucket_count;        /* a power of two */
	struct flow **by_id;        /* by_id[id - 1] */
	size_t count, capacity;
	size_t rule_count;          /* per-rule states each flow keeps */
	struct flow *live_head;     /* flows not retired, newest first */
	struct flow *sweep_cursor;  /* where the last retire sweep stopped */
	size_t retired;
};

struct flow_key {
	uint8_t proto;
	struct packet_addr client, server;
	uint16_t client_port, server_port;
};

static void flow_key_of(const struct packet *p, enum flow_dir dir, struct flow_key *k)
{
	k->proto = p->proto;
	if (dir == DIR_UP) {
		k->client = p->src; k->client_port = p->sport;
		k->server = p->dst; k->server_port = p->dport;
	} else {
		k->client = p->dst; k->client_port = p->dport;
		k->server = p->src; k->server_port = p->sport;
	}
}

static size_t addr_len(const struct packet_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static size_t flow_key_hash(const struct flow_key *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv1a(h, &k->proto, 1);
	h = fnv1a(h, k->client.bytes, addr_len(&k->client));
	h = fnv1a(h, k->server.bytes, addr_len(&k->server));
	h = fnv1a(h, &k->client_port, 2);
	h = fnv1a(h, &k->server_port, 2);
	return (size_t)h;
}

static int flow_matches(const struct flow *f, const struct flow_key *k)
{
	return f->proto == k->proto && f->client_port == k->client_port &&
	       f->server_port == k->server_port &&
	       packet_addr_equal(&f->client, &k->client) &&
	       packet_addr_equal(&f->server, &k->server);
}

struct flow_table *flow_table_new(uint64_t seed)
{
	struct flow_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->seed = seed;
	t->rule_count = FLOW_MAX_RULES;
	t->bucket_count = 1024;
	t->buckets = calloc(t->bucket_count, sizeof *t->buckets);
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->by_id[i]->digest);
		free(t->by_id[i]->rules);
		free(t->by_id[i]);
	}
	free(t->by_id);
	free(t->buckets);
	free(t);
}

struct flow *flow_lookup(struct flow_table *t, const struct packet *p, enum flow_dir dir)
{
	struct flow_key k;
	flow_key_of(p, dir, &k);
	for (struct flow *f = t->buckets[flow_key_hash(&k) & (t->bucket_count - 1)]; f; f = f->hash_next)
		if (flow_matches(f, &k))
			return f;
	return NULL;
}

/* Keep chains short as the table grows: double the buckets at load 1. */
static int flow_table_grow(struct flow_table *t)
{
	size_t n = t->bucket_count * 2;
	struct flow **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < t->count; i++) {
		struct flow *f = t->by_id[i];
		if (f->retired)
			continue;
		struct flow_key k = { f->proto, f->client, f->server, f->client_port, f->server_port };
		size_t slot = flow_key_hash(&k) & (n - 1);
		f->hash_next = b[slot];
		b[slot] = f;
	}
	free(t->buckets);
	t->buckets = b;
	t->bucket_count = n;
	return 0;
}

struct flow *flow_open(struct flow_table *t, const struct packet *p, enum flow_dir dir, int64_t now_ns)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return NULL;
	if (t->count == t->capacity) {
		size_t cap = t->capacity ? t->capacity * 2 : 64;
		struct flow **v = realloc(t->by_id, cap * sizeof *v);
		if (!v)
			return NULL;
		t->by_id = v;
		t->capacity = cap;
	}
	if (t->count - t->retired >= t->bucket_count && flow_table_grow(t) < 0)
		return NULL;
	struct flow *f = calloc(1, sizeof *f);
	struct sha256_ctx *digest = malloc(sizeof *digest);
	struct flow_rule_state *rules = calloc(t->rule_count ? t->rule_count : 1, sizeof *rules);
	if (!f || !digest || !rules) {
		free(f);
		free(digest);
		free(rules);
		return NULL;
	}
	f->rules = rules;
	sha256_init(digest);
	f->digest = digest;

	struct flow_key k;
	flow_key_of(p, dir, &k);
	f->id = (uint32_t)t->count + 1;
	f->proto = p->proto;
	f->client = k.client; f->client_port = k.client_port;
	f->server = k.server; f->server_port = k.server_port;
	f->opened_ns = f->last_ns = now_ns;
	f->end = FLOW_END_OPEN;
	if (p->proto == IPPROTO_TCP) {
		int opening_syn = dir == DIR_UP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
		f->state = opening_syn ? FLOW_SYN_SENT : FLOW_ESTABLISHED;
		f->midstream = !opening_syn;
	} else {
		f->state = FLOW_ESTABLISHED;
	}
	rng_seed(&f->rng, t->seed, f->id);

	size_t slot = flow_key_hash(&k) & (t->bucket_count - 1);
	f->hash_next = t->buckets[slot];
	t->buckets[slot] = f;
	t->by_id[t->count++] = f;
	f->live_next = t->live_head;
	if (t->live_head)
		t->live_head->live_prev = f;
	t->live_head = f;
	return f;
}

/* Extend a 32-bit offset to the 64-bit value nearest to `near`, so streams
 * longer than 4 GiB keep counting. */
static uint64_t extend_offset(uint32_t rel, uint64_t near)
{
	uint64_t candidate = (near & ~0xffffffffULL) | rel;
	if (candidate + 0x80000000ULL < near)
		candidate += 0x100000000ULL;
	else if (candidate > near + 0x80000000ULL)
		/* Behind near; in the first 4 GiB that is before the stream's
		 * first byte, which has no offset: say 0. */
		candidate = candidate >= 0x100000000ULL ? candidate - 0x100000000ULL : 0;
	return candidate;
}

uint64_t flow_stream_offset(const struct flow_side *s, uint32_t seq)
{
	return extend_offset(seq - s->isn - 1, s->bytes);
}

static int seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

void flow_end(struct flow *f, enum flow_end reason, int64_t now_ns)
{
	if (f->end == FLOW_END_OPEN)
		f->end = reason;
	if (reason != FLOW_END_TIMEOUT && f->state != FLOW_CLOSED) {
		f->state = FLOW_CLOSED;
		f->closed_ns = now_ns;
	}
}

static void flow_update_tcp(struct flow *f, const struct packet *p, enum flow_dir dir, int64_t now_ns)
{
	struct flow_side *s = dir == DIR_UP ? &f->up : &f->down;
	uint8_t flags = p->tcp_flags;

	if (!s->isn_known) {
		/* Without the SYN, count from the first byte seen. */
		s->isn = (flags & TCP_SYN) ? p->seq : p->seq - 1;
		s->isn_known = 1;
		s->next_seq = s->isn + 1;
	}
	uint32_t end = p->seq + (uint32_t)p->payload_len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	if (seq_after(end, s->next_seq) || (flags & TCP_SYN))
		s->next_seq = end;
	if (p->payload_len) {
		/* Where the payload ends (a SYN's data comes after the SYN), so
		 * data from before the first byte counted adds nothing. */
		uint32_t data_end = p->seq + ((flags & TCP_SYN) ? 1 : 0) + (uint32_t)p->payload_len;
		uint64_t stream_end = flow_stream_offset(s, data_end);
		if (stream_end > s->bytes)
			s->bytes = stream_end;
	}
	if (flags & TCP_ACK) {
		s->last_ack = p->ack;
		s->ack_seen = 1;
	}
	s->window = p->window;

	if (flags & TCP_RST) {
		if (f->state == FLOW_SYN_SENT && dir == DIR_DOWN)
			flow_end(f, FLOW_END_REFUSED, now_ns);
		else
			flow_end(f, dir == DIR_UP ? FLOW_END_RESET_BY_CLIENT : FLOW_END_RESET_BY_SERVER, now_ns);
		return;
	}
	if ((flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && dir == DIR_DOWN && f->state == FLOW_SYN_SENT)
		f->state = FLOW_SYN_RECEIVED;
	else if (f->state == FLOW_SYN_RECEIVED && dir == DIR_UP && (flags & TCP_ACK))
		f->state = FLOW_ESTABLISHED;
	if (flags & TCP_FIN) {
		s->fin_seen = 1;
		if (f->state != FLOW_CLOSED)
			f->state = FLOW_CLOSING;
	}
	/* Both FINs sent and the last one acknowledged: a clean close. */
	struct flow_side *other = dir == DIR_UP ? &f->down : &f->up;
	if (f->up.fin_seen && f->down.fin_seen && (flags & TCP_ACK) && !(flags & TCP_FIN) &&
	    other->fin_seen && p->ack == other->next_seq)
		flow_end(f, FLOW_END_FIN, now_ns);
}

void flow_update(struct flow *f, const struct packet *p, enum flow_dir dir, int64_t now_ns)
{
	struct flow_side *s = dir == DIR_UP ? &f->up : &f->down;
	f->packets++;
	s->packets++;
	f->last_ns = now_ns;
	if (f->proto == IPPROTO_TCP) {
		flow_update_tcp(f, p, dir, now_ns);
	} else {
		s->bytes += p->payload_len;
	}
}

void flow_record_decision(struct flow_table *t, struct flow *f, int rule, int action)
{
	(void)t;
	/* The packet's place in its stream (direction and byte offset, set by
	 * the caller in decision_point), not its time or its index among
	 * packets: the same bytes give the same digest however the kernel
	 * grouped them into packets and however fast they came. */
	uint8_t entry[16];
	uint64_t packet_index = f->decision_point;
	for (int i = 0; i < 8; i++)
		entry[i] = (uint8_t)(packet_index >> (56 - 8 * i));
	entry[8] = (uint8_t)(rule >> 8);
	entry[9] = (uint8_t)rule;
	entry[10] = (uint8_t)(action >> 8);
	entry[11] = (uint8_t)action;
	entry[12] = entry[13] = entry[14] = entry[15] = 0;
	sha256_update(f->digest, sizeof entry, entry);
	f->decisions++;
}

void flow_table_set_rule_count(struct flow_table *t, size_t count)
{
	t->rule_count = count > FLOW_MAX_RULES ? FLOW_MAX_RULES : count;
}

static void flow_unhash(struct flow_table *t, struct flow *f)
{
	struct flow_key k = { f->proto, f->client, f->server, f->client_port, f->server_port };
	struct flow **link = &t->buckets[flow_key_hash(&k) & (t->bucket_count - 1)];
	while (*link && *link != f)
		link = &(*link)->hash_next;
	if (*link)
		*link = f->hash_next;
	f->hash_next = NULL;
}

static void flow_retire_one(struct flow_table *t, struct flow *f)
{
	flow_unhash(t, f);
	if (f->live_prev)
		f->live_prev->live_next = f->live_next;
	else
		t->live_head = f->live_next;
	if (f->live_next)
		f->live_next->live_prev = f->live_prev;
	f->live_prev = f->live_next = NULL;
	sha256_digest(f->digest, sizeof f->final_digest, f->final_digest);
	free(f->digest);
	f->digest = NULL;
	free(f->rules);
	f->rules = NULL;
	f->retired = 1;
	t->retired++;
}

size_t flow_table_retire(struct flow_table *t, int64_t now_ns, int64_t closed_ns, int64_t idle_ns, size_t budget)
{
	size_t retired = 0;
	struct flow *f = t->sweep_cursor ? t->sweep_cursor : t->live_head;
	for (size_t seen = 0; f && seen < budget; seen++) {
		struct flow *next = f->live_next;
		int done = f->state == FLOW_CLOSED && f->closed_ns && now_ns - f->closed_ns >= closed_ns;
		int abandoned = f->state == FLOW_SYN_SENT && now_ns - f->last_ns >= idle_ns;
		if (done || abandoned) {
			if (abandoned)
				flow_end(f, FLOW_END_TIMEOUT, now_ns);
			flow_retire_one(t, f);
			retired++;
		}
		f = next;
	}
	t->sweep_cursor = f;
	return retired;
}

struct flow *flow_table_live_first(const struct flow_table *t)
{
	return t->live_head;
}

struct flow *flow_table_live_next(const struct flow *f)
{
	return f->live_next;
}

size_t flow_table_retired(const struct flow_table *t)
{
	return t->retired;
}

size_t flow_table_count(const struct flow_table *t)
{
	return t->count;
}

struct flow *flow_table_get(const struct flow_table *t, uint32_t id)
{
	if (id == 0 || id > t->count)
		return NULL;
	return t->by_id[id - 1];
}

void flow_table_digest(const struct flow_table *t, char out[65])
{
	struct sha256_ctx all;
	sha256_init(&all);
	for (size_t i = 0; i < t->count; i++) {
		struct flow *f = t->by_id[i];
		if (!f->decisions)
			continue;
		uint8_t one[SHA256_DIGEST_SIZE];
		uint8_t id[4] = { (uint8_t)(f->id >> 24), (uint8_t)(f->id >> 16), (uint8_t)(f->id >> 8), (uint8_t)f->id };
		if (f->retired) {
			memcpy(one, f->final_digest, sizeof one);
		} else {
			/* Digest a copy so the flow's own context can keep going. */
			struct sha256_ctx copy = *(struct sha256_ctx *)f->digest;
			sha256_digest(&copy, sizeof one, one);
		}
		sha256_update(&all, sizeof id, id);
		sha256_update(&all, sizeof one, one);
	}
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_digest(&all, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

const char *flow_end_name(enum flow_end e)
{
	static const char *names[] = {
		[FLOW_END_OPEN] = "open", [FLOW_END_FIN] = "fin",
		[FLOW_END_RESET_INJECTED] = "reset_injected",
		[FLOW_END_RESET_BY_CLIENT] = "reset_by_client",
		[FLOW_END_RESET_BY_SERVER] = "reset_by_server",
		[FLOW_END_REFUSED] = "refused", [FLOW_END_TIMEOUT] = "timeout",
	};
	return e <= FLOW_END_TIMEOUT ? names[e] : "?";
}

const char *flow_state_name(enum flow_state s)
{
	static const char *names[] = {
		[FLOW_SYN_SENT] = "syn_sent", [FLOW_SYN_RECEIVED] = "syn_received",
		[FLOW_ESTABLISHED] = "established", [FLOW_CLOSING] = "closing",
		[FLOW_CLOSED] = "closed",
	};
	return s <= FLOW_CLOSED ? names[s] : "?";
}

/* fault.c — fault rules; see fault.h. */
#include "sim/fault.h"

#include <netinet/in.h>
#include <string.h>

void fault_rule_init(struct fault_rule *r, enum fault_type type)
{
	memset(r, 0, sizeof *r);
	r->type = type;
	r->dirs = DIR_UP | DIR_DOWN;
	r->until_ns = -1;
	r->p = 1.0;
	r->after_bytes = -1;
	r->after_ns = -1;
	r->to = TARGET_CLIENT | TARGET_SERVER;
	r->code = UNREACH_HOST;
}

const char *fault_type_name(enum fault_type type)
{
	static const char *names[] = {
		[FAULT_RESET] = "reset", [FAULT_REFUSE] = "refuse",
		[FAULT_UNREACHABLE] = "unreachable", [FAULT_BLACKHOLE] = "blackhole",
		[FAULT_LOSS] = "loss", [FAULT_DELAY] = "delay", [FAULT_REORDER] = "reorder",
		[FAULT_RATE] = "rate", [FAULT_TRUNCATE] = "truncate", [FAULT_CONN_CAP] = "conn_cap",
		[FAULT_BLOCK] = "block", [FAULT_RATE_BLOCK] = "rate_block",
		[FAULT_IDLE_TIMEOUT] = "idle_timeout", [FAULT_MTU] = "mtu", [FAULT_DUPLICATE] = "duplicate",
		[FAULT_CORRUPT] = "corrupt", [FAULT_MATCH] = "match", [FAULT_ROUTER_RESTART] = "router_restart",
		[FAULT_HOOK] = "hook",
	};
	return type < FAULT_TYPE_COUNT ? names[type] : "?";
}

const char *fault_action_name(enum fault_action action)
{
	static const char *names[] = {
		[ACTION_ACCEPT] = "accept", [ACTION_DROP] = "drop", [ACTION_RESET] = "reset",
		[ACTION_RESET_AGAIN] = "reset", [ACTION_REFUSE] = "refuse",
		[ACTION_UNREACHABLE] = "unreachable", [ACTION_DELAY] = "delay",
		[ACTION_TRUNCATE] = "truncate", [ACTION_FORGET] = "forget", [ACTION_TOO_BIG] = "too_big",
		[ACTION_DUPLICATE] = "duplicate", [ACTION_CORRUPT] = "corrupt",
	};
	return action <= ACTION_CORRUPT ? names[action] : "?";
}

static int rule_in_window(const struct fault_rule *r, int64_t t_ns)
{
	return t_ns >= r->from_ns && (r->until_ns < 0 || t_ns < r->until_ns);
}

static int is_per_packet(enum fault_type type);

/* Does the rule cover this flow at all (flows, port, and its p draw)? */
static int rule_covers_flow(const struct fault_rule *r, size_t index, struct flow *f)
{
	if (r->port && f->server_port != r->port)
		return 0;
	if (r->flow_count) {
		size_t i;
		for (i = 0; i < r->flow_count && r->flows[i] != f->id; i++)
			;
		if (i == r->flow_count)
			return 0;
	}
	struct flow_rule_state *s = &f->rules[index];
	if (!s->decided) {
		s->decided = 1;
		/* For per-packet faults p is drawn per packet, not here. */
		s->chosen = is_per_packet(r->type) ? 1 : (uint8_t)rng_chance(&f->rng, r->p);
	}
	return s->chosen;
}

/* Bytes that count toward after_bytes once packet p has been delivered. */
static uint64_t bytes_after_packet(const struct fault_rule *r, const struct flow *f,
                                   const struct packet *p, enum flow_dir dir)
{
	uint64_t up = f->up.bytes, down = f->down.bytes;
	if (p->payload_len && f->proto == IPPROTO_TCP) {
		const struct flow_side *s = dir == DIR_UP ? &f->up : &f->down;
		uint32_t data_end = p->seq + ((p->tcp_flags & TCP_SYN) ? 1 : 0) + (uint32_t)p->payload_len;
		uint64_t end = s->isn_known ? flow_stream_offset(s, data_end) : s->bytes + p->payload_len;
		if (dir == DIR_UP && end > up)
			up = end;
		if (dir == DIR_DOWN && end > down)
			down = end;
	} else if (p->payload_len) {
		if (dir == DIR_UP)
			up += p->payload_len;
		else
			down += p->payload_len;
	}
	return ((r->dirs & DIR_UP) ? up : 0) + ((r->dirs & DIR_DOWN) ? down : 0);
}

static uint64_t bytes_so_far(const struct fault_rule *r, const struct flow *f)
{
	return ((r->dirs & DIR_UP) ? f->up.bytes : 0) + ((r->dirs & DIR_DOWN) ? f->down.bytes : 0);
}

static int is_opening_syn(const struct packet *p, enum flow_dir dir)
{
	return p->proto == IPPROTO_TCP && dir == DIR_UP && (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

static int is_per_packet(enum fault_type type)
{
	return type == FAULT_LOSS || type == FAULT_REORDER || type == FAULT_DUPLICATE || type == FAULT_CORRUPT;
}

int fault_rule_needs_whole_packets(const struct fault_rule *r)
{
	switch (r->type) {
	case FAULT_RESET:
	case FAULT_TRUNCATE:
	case FAULT_CONN_CAP:
		return r->after_bytes >= 0;
	case FAULT_MTU:
	case FAULT_DUPLICATE:
	case FAULT_CORRUPT:
	case FAULT_MATCH:
	/* Loss and reordering act on wire packets: a 64 KiB superpacket is
	 * forty of them, and losing it whole is not what a link does. */
	case FAULT_LOSS:
	case FAULT_REORDER:
		return 1;
	default:
		return 0;
	}
}

static int conn_cap_still_open(const struct flow *f)
{
	return f->state != FLOW_CLOSED && f->end == FLOW_END_OPEN;
}

/* Open connections the cap counts: covered by the rule, not over the limit
 * themselves, and from the same source when the cap is per source. The
 * rule keeps the ones it admitted, dropping those that ended, so a SYN
 * costs as much as the limit, not as much as every flow ever seen. */
static uint32_t conn_cap_active(struct flow_table *t, size_t index, struct fault_rule *r,
                                const struct flow *self)
{
	uint32_t active = 0;
	if (!r->counted_overflow) {
		size_t keep = 0;
		for (size_t i = 0; i < r->counted_count; i++) {
			struct flow *f = r->counted[i];
			if (!conn_cap_still_open(f))
				continue;
			r->counted[keep++] = f;
			if (f != self && (!r->per_source || packet_addr_equal(&f->client, &self->client)))
				active++;
		}
		r->counted_count = keep;
		return active;
	}
	size_t n = flow_table_count(t);
	for (uint32_t id = 1; id <= n; id++) {
		const struct flow *f = flow_table_get(t, id);
		if (f == self || f->retired || f->proto != IPPROTO_TCP || !conn_cap_still_open(f))
			continue;
		if (!f->rules[index].decided || !f->rules[index].chosen || f->rules[index].caught)
			continue;
		if (r->per_source && !packet_addr_equal(&f->client, &self->client))
			continue;
		active++;
	}
	return active;
}

static struct fault_source *rate_block_source(struct fault_rule *r, const struct packet_addr *addr)
{
	for (size_t i = 0; i < r->source_count; i++)
		if (packet_addr_equal(&r->sources[i].addr, addr))
			return &r->sources[i];
	if (!r->sources || r->source_count >= FAULT_MAX_SOURCES)
		return NULL;
	struct fault_source *s = &r->sources[r->source_count++];
	memset(s, 0, sizeof *s);
	s->addr = *addr;
	return s;
}

/* What a caught connection gets for a packet, by the rule's action. */
static enum fault_action caught_action(const struct fault_rule *r, const struct packet *p, enum flow_dir dir)
{
	if (r->action == ACTION_REFUSE)
		return is_opening_syn(p, dir) ? ACTION_REFUSE : ACTION_DROP;
	return (enum fault_action)r->action;
}

/* Whether rule r acts on this packet, and how (filling d's details). */
static enum fault_action rule_action(struct flow_table *t, size_t index, struct fault_rule *r, struct flow *f,
                                     const struct packet *p, enum flow_dir dir, int64_t now_ns, int64_t t_ns,
                                     struct fault_decision *d)
{
	struct flow_rule_state *st = &f->rules[index];
	int64_t age_ns = now_ns - f->opened_ns;
	switch (r->type) {
	case FAULT_RESET:
	case FAULT_TRUNCATE:
		if (f->proto != IPPROTO_TCP || (p->tcp_flags & TCP_RST))
			return ACTION_ACCEPT;
		if (f->state == FLOW_SYN_SENT || f->state == FLOW_CLOSED)
			return ACTION_ACCEPT;
		if (r->after_bytes >= 0) {
			if (bytes_after_packet(r, f, p, dir) <= (uint64_t)r->after_bytes)
				return ACTION_ACCEPT;
		}
		if (r->after_ns >= 0 && age_ns < r->after_ns)
			return ACTION_ACCEPT;
		d->at_bytes = bytes_so_far(r, f);
		return r->type == FAULT_RESET ? ACTION_RESET : ACTION_TRUNCATE;
	case FAULT_REFUSE:
		return is_opening_syn(p, dir) ? ACTION_REFUSE : ACTION_ACCEPT;
	case FAULT_UNREACHABLE:
		return ACTION_UNREACHABLE;
	case FAULT_BLACKHOLE:
		return ACTION_DROP;
	case FAULT_LOSS: {
		int lose;
		if (r->gilbert) {
			lose = rng_chance(&f->rng, st->bad ? r->loss_bad : r->loss_good);
			if (st->bad)
				st->bad = !rng_chance(&f->rng, r->r);
			else
				st->bad = (uint8_t)rng_chance(&f->rng, r->p);
		} else {
			lose = rng_chance(&f->rng, r->p);
		}
		return lose ? ACTION_DROP : ACTION_ACCEPT;
	}
	case FAULT_DELAY: {
		int64_t delay = r->delay_ns;
		if (r->jitter_ns > 0)
			delay += (int64_t)((rng_uniform(&f->rng) * 2.0 - 1.0) * (double)r->jitter_ns);
		d->delay_ns = delay > 0 ? delay : 0;
		d->keep_order = 1;
		return ACTION_DELAY;
	}
	case FAULT_REORDER:
		if (!rng_chance(&f->rng, r->p))
			return ACTION_ACCEPT;
		d->delay_ns = r->delay_ns;
		d->keep_order = 0;
		return ACTION_DELAY;
	case FAULT_RATE: {
		/* A link of that speed: each packet leaves when the ones before
		 * it have been sent, so a burst queues instead of being dropped.
		 * It then keeps the link busy for its own length; on an idle link
		 * it leaves at once. */
		int64_t *free_ns = r->shared ? &r->shared_free_ns[dir] : &st->free_ns[dir];
		int64_t start = *free_ns > now_ns ? *free_ns : now_ns;
		*free_ns = start + (int64_t)((double)p->len * 8.0 / r->bits_per_s * 1e9);
		d->delay_ns = start - now_ns;
		d->keep_order = 1;
		return ACTION_DELAY;
	}
	case FAULT_CONN_CAP:
		if (is_opening_syn(p, dir) && f->state == FLOW_SYN_SENT && f->packets == 0 && !st->caught) {
			if (conn_cap_active(t, index, r, f) >= r->max_conns) {
				st->caught = 1;
				d->why = "over the connection limit";
			} else if (r->counted_count < sizeof r->counted / sizeof r->counted[0]) {
				r->counted[r->counted_count++] = f;
			} else {
				r->counted_overflow = 1;
			}
		}
		if (!st->caught)
			return ACTION_ACCEPT;
		if (r->action == ACTION_RESET) {
			if (f->state == FLOW_SYN_SENT || (p->tcp_flags & TCP_RST))
				return ACTION_ACCEPT;
			if (r->after_bytes >= 0 && bytes_after_packet(r, f, p, dir) <= (uint64_t)r->after_bytes)
				return ACTION_ACCEPT;
			d->at_bytes = bytes_so_far(r, f);
			return ACTION_RESET;
		}
		return caught_action(r, p, dir);
	case FAULT_BLOCK:
		if (r->http403) {
			/* The server does the blocking (engine_http403 reads the
			 * window); here it only counts as fired. */
			d->http403_until_ns = 1;
			return ACTION_ACCEPT;
		}
		return caught_action(r, p, dir);
	case FAULT_RATE_BLOCK: {
		struct fault_source *src = rate_block_source(r, &f->client);
		if (!src)
			return ACTION_ACCEPT;
		if (is_opening_syn(p, dir) && f->state == FLOW_SYN_SENT && f->packets == 0 && !st->caught &&
		    now_ns >= src->blocked_until_ns) {
			src->recent_ns[src->recent_next] = now_ns;
			src->recent_next = (src->recent_next + 1) % 64;
			if (src->recent_count < 64)
				src->recent_count++;
			uint32_t within = 0;
			for (uint32_t i = 0; i < src->recent_count; i++)
				within += now_ns - src->recent_ns[i] < r->within_ns;
			if (within > r->conns) {
				src->blocked_until_ns = now_ns + r->block_ns;
				/* A clean count: the ring starts again at 0, where
				 * the loop above reads. */
				src->recent_count = 0;
				src->recent_next = 0;
				d->why = "too many new connections: source blocked";
			}
		}
		if (now_ns >= src->blocked_until_ns)
			return ACTION_ACCEPT;
		st->caught = 1;
		if (r->http403) {
			d->http403_until_ns = src->blocked_until_ns;
			return ACTION_ACCEPT;
		}
		return caught_action(r, p, dir);
	}
	case FAULT_MTU:
		if (p->len <= r->mtu)
			return ACTION_ACCEPT;
		return r->icmp ? ACTION_TOO_BIG : ACTION_DROP;
	case FAULT_DUPLICATE:
		return rng_chance(&f->rng, r->p) ? ACTION_DUPLICATE : ACTION_ACCEPT;
	case FAULT_CORRUPT:
		if (!p->payload_len || p->payload_off + p->payload_len > p->caplen || !rng_chance(&f->rng, r->p))
			return ACTION_ACCEPT;
		d->corrupt_at = rng_next(&f->rng);
		return ACTION_CORRUPT;
	case FAULT_MATCH: {
		size_t have = p->caplen > p->payload_off ? p->caplen - p->payload_off : 0;
		if (have > p->payload_len)
			have = p->payload_len;
		if (!r->pattern_len || !memmem(p->data + p->payload_off, have, r->pattern, r->pattern_len))
			return ACTION_ACCEPT;
		if (r->action == ACTION_RESET && f->proto == IPPROTO_TCP && f->state != FLOW_SYN_SENT)
			return ACTION_RESET;
		return ACTION_DROP;
	}
	case FAULT_ROUTER_RESTART: {
		/* Down between from and until; after that it has forgotten every
		 * connection opened before it went down. */
		int64_t opened_t = t_ns - age_ns;
		if (t_ns >= r->from_ns && t_ns < r->until_ns)
			return ACTION_DROP;
		if (t_ns >= r->until_ns && opened_t < r->from_ns && f->proto == IPPROTO_TCP &&
		    f->state != FLOW_SYN_SENT && !(p->tcp_flags & TCP_RST))
			return ACTION_FORGET;
		return ACTION_ACCEPT;
	}
	case FAULT_HOOK: {
		if (!r->hook)
			return ACTION_ACCEPT;
		/* on_flow once per connection, whatever happens to its packets. */
		int opening = !st->introduced;
		st->introduced = 1;
		int action = r->hook(r->hook_arg, f, p, (int)dir, opening, t_ns, d);
		if (action == ACTION_RESET && (f->proto != IPPROTO_TCP || (p->tcp_flags & TCP_RST)))
			return ACTION_DROP;
		/* "reset" on a SYN is a refusal: there is no connection yet. */
		if (action == ACTION_RESET && f->state == FLOW_SYN_SENT)
			return is_opening_syn(p, dir) ? ACTION_REFUSE : ACTION_DROP;
		return (enum fault_action)action;
	}
	case FAULT_IDLE_TIMEOUT:
		if (f->proto != IPPROTO_TCP || f->state == FLOW_SYN_SENT || f->state == FLOW_CLOSED)
			return ACTION_ACCEPT;
		if (now_ns - f->last_ns <= r->idle_ns || f->packets == 0)
			return ACTION_ACCEPT;
		return r->action == ACTION_RESET ? ACTION_FORGET : ACTION_DROP;
	case FAULT_TYPE_COUNT:
		break;
	}
	return ACTION_ACCEPT;
}

void fault_decide(struct flow_table *t, struct fault_rule *rules, size_t n,
                  struct flow *f, const struct packet *p, enum flow_dir dir,
                  int64_t t_ns, int64_t age_ns, struct fault_decision *d)
{
	memset(d, 0, sizeof *d);
	d->action = ACTION_ACCEPT;
	d->rule = -1;

	/* A connection we reset stays dead whatever the windows say: like the
	 * real device, every later packet of it is answered with an RST. */
	if (f && f->end == FLOW_END_RESET_INJECTED && f->proto == IPPROTO_TCP) {
		if (!(p->tcp_flags & TCP_RST))
			d->action = ACTION_RESET_AGAIN;
		else
			d->action = ACTION_DROP;
		return;
	}
	if (f && f->silenced) {
		d->action = ACTION_DROP;
		return;
	}
	int64_t now_ns = f ? f->opened_ns + age_ns : 0;
	int64_t held_ns = 0;
	int keep_order = 1, shaping_rule = -1;
	if (f) {
		const struct flow_side *side = dir == DIR_UP ? &f->up : &f->down;
		uint64_t offset = f->proto == IPPROTO_TCP && side->isn_known
		                  ? flow_stream_offset(side, p->seq) + p->payload_len
		                  : side->bytes + p->payload_len;
		f->decision_point = ((uint64_t)dir << 62) | (offset & ((1ULL << 62) - 1));
	}
	for (size_t i = 0; i < n && i < FLOW_MAX_RULES; i++) {
		struct fault_rule *r = &rules[i];
		int counts_all_dirs = r->type == FAULT_RESET || r->type == FAULT_TRUNCATE ||
		                      r->type == FAULT_CONN_CAP || r->type == FAULT_RATE_BLOCK;
		if (!(r->dirs & dir) && !counts_all_dirs)
			continue;
		if (r->type != FAULT_ROUTER_RESTART && !rule_in_window(r, t_ns))
			continue;
		if (r->type == FAULT_ROUTER_RESTART && t_ns < r->from_ns)
			continue;
		if (!f || !rule_covers_flow(r, i, f))
			continue;
		/* A reset counts the bytes of its directions, but any packet
		 * of the connection may be the one that crosses the line. */
		if ((r->type == FAULT_RESET || r->type == FAULT_TRUNCATE) && !(r->dirs & dir) && r->after_bytes < 0)
			continue;
		int64_t http403_before = d->http403_until_ns;
		d->delay_ns = 0;
		enum fault_action action = rule_action(t, i, r, f, p, dir, now_ns, t_ns, d);
		if (d->error) {
			d->action = ACTION_DROP;
			d->rule = (int)i;
			return;
		}
		/* Shaping (delay, rate, reorder) and a 403 block do not end the
		 * decision: a path delays, limits and loses all at once, so the
		 * later rules still have their say. */
		int shaping = action == ACTION_DELAY && d->delay_ns > 0;
		int blocks_http = action == ACTION_ACCEPT && d->http403_until_ns != http403_before;
		if (shaping || blocks_http) {
			if (shaping) {
				held_ns += d->delay_ns;
				keep_order &= d->keep_order;
			}
			if (!f->rules[i].fired)
				d->newly_fired |= 1u << i;
			f->rules[i].fired = 1;
			f->rules[i].count++;
			if (shaping_rule < 0)
				shaping_rule = (int)i;
			flow_record_decision(t, f, (int)i, action);
			continue;
		}
		if (action == ACTION_ACCEPT || action == ACTION_DELAY)
			continue;
		if (!f->rules[i].fired)
			d->newly_fired |= 1u << i;
		d->action = action;
		d->rule = (int)i;
		d->to = r->to;
		d->code = r->code;
		d->first = !f->rules[i].fired;
		f->rules[i].fired = 1;
		f->rules[i].count++;
		/* A cut at a byte count happens at that count, whichever packet
		 * happened to carry it. */
		if ((action == ACTION_RESET || action == ACTION_TRUNCATE) && r->after_bytes >= 0)
			f->decision_point = (uint64_t)r->after_bytes;
		flow_record_decision(t, f, (int)i, action);
		return;
	}
	if (held_ns > 0) {
		d->action = ACTION_DELAY;
		d->delay_ns = held_ns;
		d->keep_order = keep_order;
	}
	if (shaping_rule >= 0) {
		d->rule = shaping_rule;
		d->first = (d->newly_fired >> shaping_rule) & 1;
	}
}

int fault_tick(struct flow_table *t, struct fault_rule *rules, size_t n,
               struct flow *f, int64_t t_ns, int64_t flow_age_ns, struct fault_decision *d)
{
	memset(d, 0, sizeof *d);
	d->action = ACTION_ACCEPT;
	d->rule = -1;
	if (f->proto != IPPROTO_TCP || f->state == FLOW_SYN_SENT || f->state == FLOW_CLOSED ||
	    f->end != FLOW_END_OPEN)
		return 0;
	for (size_t i = 0; i < n && i < FLOW_MAX_RULES; i++) {
		struct fault_rule *r = &rules[i];
		if (r->type != FAULT_RESET || r->after_ns < 0 || flow_age_ns < r->after_ns)
			continue;
		if (!rule_in_window(r, t_ns) || !rule_covers_flow(r, i, f))
			continue;
		if (r->after_bytes >= 0 && bytes_so_far(r, f) <= (uint64_t)r->after_bytes)
			continue;
		d->action = ACTION_RESET;
		d->rule = (int)i;
		d->to = r->to;
		d->at_bytes = bytes_so_far(r, f);
		d->first = !f->rules[i].fired;
		f->rules[i].fired = 1;
		f->rules[i].count++;
		flow_record_decision(t, f, (int)i, ACTION_RESET);
		return 1;
	}
	return 0;
}

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
	};
	return type < FAULT_TYPE_COUNT ? names[type] : "?";
}

const char *fault_action_name(enum fault_action action)
{
	static const char *names[] = {
		[ACTION_ACCEPT] = "accept", [ACTION_DROP] = "drop", [ACTION_RESET] = "reset",
		[ACTION_RESET_AGAIN] = "reset", [ACTION_REFUSE] = "refuse",
		[ACTION_UNREACHABLE] = "unreachable",
	};
	return action <= ACTION_UNREACHABLE ? names[action] : "?";
}

static int rule_in_window(const struct fault_rule *r, int64_t t_ns)
{
	return t_ns >= r->from_ns && (r->until_ns < 0 || t_ns < r->until_ns);
}

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
		s->chosen = (uint8_t)rng_chance(&f->rng, r->p);
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
		uint64_t end = s->isn_known ? flow_stream_offset(s, p->seq) + p->payload_len : s->bytes + p->payload_len;
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

/* Whether rule r acts on this packet, and how. */
static enum fault_action rule_action(const struct fault_rule *r, const struct flow *f,
                                     const struct packet *p, enum flow_dir dir, int64_t age_ns,
                                     uint64_t *at_bytes)
{
	switch (r->type) {
	case FAULT_RESET:
		if (!f || f->proto != IPPROTO_TCP || (p->tcp_flags & TCP_RST))
			return ACTION_ACCEPT;
		if (f->state == FLOW_SYN_SENT || f->state == FLOW_CLOSED)
			return ACTION_ACCEPT;
		if (r->after_bytes >= 0) {
			if (bytes_after_packet(r, f, p, dir) <= (uint64_t)r->after_bytes)
				return ACTION_ACCEPT;
		}
		if (r->after_ns >= 0 && age_ns < r->after_ns)
			return ACTION_ACCEPT;
		*at_bytes = bytes_so_far(r, f);
		return ACTION_RESET;
	case FAULT_REFUSE:
		return is_opening_syn(p, dir) ? ACTION_REFUSE : ACTION_ACCEPT;
	case FAULT_UNREACHABLE:
		return ACTION_UNREACHABLE;
	case FAULT_BLACKHOLE:
		return ACTION_DROP;
	case FAULT_TYPE_COUNT:
		break;
	}
	return ACTION_ACCEPT;
}

void fault_decide(struct flow_table *t, const struct fault_rule *rules, size_t n,
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
	for (size_t i = 0; i < n && i < FLOW_MAX_RULES; i++) {
		const struct fault_rule *r = &rules[i];
		if (!(r->dirs & dir) && r->type != FAULT_RESET)
			continue;
		if (!rule_in_window(r, t_ns))
			continue;
		if (!f || !rule_covers_flow(r, i, f))
			continue;
		/* A reset counts the bytes of its directions, but any packet
		 * of the connection may be the one that crosses the line. */
		if (r->type == FAULT_RESET && !(r->dirs & dir) && r->after_bytes < 0)
			continue;
		uint64_t at_bytes = 0;
		enum fault_action action = rule_action(r, f, p, dir, age_ns, &at_bytes);
		if (action == ACTION_ACCEPT)
			continue;
		d->action = action;
		d->rule = (int)i;
		d->to = r->to;
		d->code = r->code;
		d->at_bytes = at_bytes;
		d->first = !f->rules[i].fired;
		f->rules[i].fired = 1;
		f->rules[i].count++;
		flow_record_decision(t, f, (int)i, action);
		return;
	}
}

int fault_tick(struct flow_table *t, const struct fault_rule *rules, size_t n,
               struct flow *f, int64_t t_ns, int64_t flow_age_ns, struct fault_decision *d)
{
	memset(d, 0, sizeof *d);
	d->action = ACTION_ACCEPT;
	d->rule = -1;
	if (f->proto != IPPROTO_TCP || f->state == FLOW_SYN_SENT || f->state == FLOW_CLOSED ||
	    f->end != FLOW_END_OPEN)
		return 0;
	for (size_t i = 0; i < n && i < FLOW_MAX_RULES; i++) {
		const struct fault_rule *r = &rules[i];
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

/* rng.c — splitmix64 streams; see rng.h. */
#include "sim/rng.h"

static uint64_t splitmix64_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	/* Mixing twice keeps streams of neighbouring seeds and ordinals apart. */
	r->state = splitmix64_mix(splitmix64_mix(seed) ^ (stream * 0x9e3779b97f4a7c15ULL));
}

uint64_t rng_next(struct rng *r)
{
	r->state += 0x9e3779b97f4a7c15ULL;
	return splitmix64_mix(r->state);
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int rng_chance(struct rng *r, double p)
{
	if (p <= 0.0)
		return 0;
	if (p >= 1.0)
		return 1;
	return rng_uniform(r) < p;
}

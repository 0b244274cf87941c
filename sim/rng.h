/* rng.h — the seeded random numbers behind every fault decision.
 *
 * Each flow draws from its own stream, derived from the run's seed and the
 * flow's ordinal, so a flow's decisions depend only on the seed and that
 * flow's own packets, whatever other flows interleave with it. */
#ifndef FW_SIM_RNG_H
#define FW_SIM_RNG_H

#include <stdint.h>

struct rng {
	uint64_t state;
};

/* Start the stream `stream` of `seed`. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits (splitmix64). */
uint64_t rng_next(struct rng *r);

/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);

/* 1 with probability p (p <= 0 never draws and returns 0; p >= 1 returns 1
 * without drawing, so a certain fault does not shift the stream). */
int rng_chance(struct rng *r, double p);

#endif

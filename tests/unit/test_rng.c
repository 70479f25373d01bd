#include "harness.h"
#include "rng.h"

/* Known-answer vectors from Random123's kat_vectors for philox4x32_10. */
TEST(philox_known_answers) {
    uint32_t out[4];
    uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    philox4x32_10(c0, k0, out);
    CHECK_EQ_INT(out[0], 0x6627e8d5u);
    CHECK_EQ_INT(out[1], 0xe169c58du);
    CHECK_EQ_INT(out[2], 0xbc57ac4cu);
    CHECK_EQ_INT(out[3], 0x9b00dbd8u);
    uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    uint32_t k1[2] = {0xffffffffu, 0xffffffffu};
    philox4x32_10(c1, k1, out);
    CHECK_EQ_INT(out[0], 0x408f276du);
    CHECK_EQ_INT(out[1], 0x41c83b0eu);
    CHECK_EQ_INT(out[2], 0xa20bc7c6u);
    CHECK_EQ_INT(out[3], 0x6d5451fdu);
    uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    uint32_t k2[2] = {0xa4093822u, 0x299f31d0u};
    philox4x32_10(c2, k2, out);
    CHECK_EQ_INT(out[0], 0xd16cfe09u);
    CHECK_EQ_INT(out[1], 0x94fdccebu);
    CHECK_EQ_INT(out[2], 0x5001e420u);
    CHECK_EQ_INT(out[3], 0x24126ea1u);
}

TEST(rng_sequential_matches_direct_access) {
    Rng r;
    rng_init(&r, 12345, RNG_STREAM_DROPOUT, 7);
    for (uint64_t i = 0; i < 37; i++) CHECK_EQ_INT(rng_u32(&r), philox_word_at(12345, RNG_STREAM_DROPOUT, 7, i));
}

TEST(rng_streams_differ_and_repeat) {
    Rng a, b, c;
    rng_init(&a, 1, RNG_STREAM_DATA_ORDER, 0);
    rng_init(&b, 1, RNG_STREAM_DATA_ORDER, 0);
    rng_init(&c, 1, RNG_STREAM_DROPOUT, 0);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 16; i++) {
        uint32_t x = rng_u32(&a), y = rng_u32(&b), z = rng_u32(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
}

TEST(rng_uniform_and_normal_moments) {
    Rng r;
    rng_init(&r, 42, RNG_STREAM_MODEL_INIT, 0);
    double s = 0, s2 = 0, m = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        CHECK(u >= 0 && u < 1);
        m += u;
    }
    CHECK_NEAR(m / n, 0.5, 0.01);
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.02);
}

TEST(rng_shuffle_is_permutation) {
    Rng r;
    rng_init(&r, 9, RNG_STREAM_DATA_ORDER, 0);
    uint32_t a[1000];
    int seen[1000] = {0};
    for (uint32_t i = 0; i < 1000; i++) a[i] = i;
    rng_shuffle_u32(&r, a, 1000);
    int moved = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 1000; i++) CHECK_EQ_INT(seen[i], 1);
    CHECK(moved > 900);
    CHECK_EQ_INT(rng_below(&r, 1), 0);
}

#include <stdlib.h>

#include "harness.h"
#include "split.h"

static size_t count(const uint8_t *k, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += k[i];
    return c;
}

TEST(split_holdout_partitions_rows) {
    enum { N = 1003 };
    uint8_t train[N], dev[N], again[N];
    split_select(N, 7, 0.1, PART_TRAIN, 0, train);
    split_select(N, 7, 0.1, PART_DEV, 0, dev);
    split_select(N, 7, 0.1, PART_DEV, 0, again);
    CHECK_EQ_INT(count(dev, N), 100);
    CHECK_EQ_INT(count(train, N), N - 100);
    for (size_t i = 0; i < N; i++) {
        CHECK(train[i] + dev[i] == 1);
        CHECK(dev[i] == again[i]);
    }
    uint8_t other[N];
    split_select(N, 8, 0.1, PART_DEV, 0, other);
    int differ = 0;
    for (size_t i = 0; i < N; i++) differ |= other[i] != dev[i];
    CHECK(differ);
}

TEST(split_drop_removes_fraction_of_kept_rows) {
    enum { N = 500 };
    uint8_t k[N], tr[N];
    split_select(N, 3, 0, PART_ALL, 0.1, k);
    CHECK_EQ_INT(count(k, N), 450);
    split_select(N, 3, 0.2, PART_TRAIN, 0.1, k);
    split_select(N, 3, 0.2, PART_TRAIN, 0, tr);
    CHECK_EQ_INT(count(k, N), 400 - 40);
    for (size_t i = 0; i < N; i++) CHECK(!k[i] || tr[i]); /* drop only removes train rows */
}

TEST(split_none_keeps_everything) {
    uint8_t k[10];
    split_select(10, 1, 0, PART_ALL, 0, k);
    CHECK_EQ_INT(count(k, 10), 10);
    split_select(0, 1, 0.5, PART_DEV, 0.5, k); /* empty input is fine */
}

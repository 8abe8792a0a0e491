/**
 * Proof-of-π settings for test clusters: admission stays on, as by default, but at a
 * difficulty that solves in about a millisecond, so a suite that starts a hundred
 * nodes does not spend its time hashing (the default, 19 bits, is benchmarked instead).
 */
export const TEST_ADMISSION = Object.freeze({ difficulty: 8 });

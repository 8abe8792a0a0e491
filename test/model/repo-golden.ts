// Written by scripts/repo-golden.mjs from models/kjv-llama-3m: do not edit by hand.
/** Per committed file: SHA-256 of the logits after test/model/repo-model.ts's prompt, and its greedy continuation. */
export const REPO_GOLDEN = {
  "f32": {
    "logitsSha256": "3a44cf30dfa6e32a2c536ffc27930cca28d97b35b6b7b33d90b69960d6bb1f85",
    "tokens": [
      261,
      1093,
      2009,
      13,
      2011,
      263,
      261,
      1578,
      791,
      312,
      394,
      325,
      341,
      2001,
      1045,
      340
    ],
    "text": " the same.\nAnd the second time he said unto them, What is"
  },
  "q8_0": {
    "logitsSha256": "78f21542f14ee7b7499eea13c76cc255e12573354a8b1a18b40f2ba39e5b1301",
    "tokens": [
      261,
      1093,
      2009,
      13,
      2011,
      263,
      261,
      1578,
      791,
      312,
      394,
      325,
      341,
      2001,
      1045,
      340
    ],
    "text": " the same.\nAnd the second time he said unto them, What is"
  },
  "q4_0": {
    "logitsSha256": "ac6c5c53dcc2102e6caa3a89b5d532349f32c1e2d1daba8b3d85aad4c77d52c8",
    "tokens": [
      261,
      1093,
      2009,
      13,
      2011,
      263,
      261,
      1578,
      791,
      312,
      394,
      325,
      341,
      2001,
      1045,
      340
    ],
    "text": " the same.\nAnd the second time he said unto them, What is"
  },
  "q4_k_m": {
    "logitsSha256": "8531ad29e7e07b290392c1f0b33367737d1a096064985ea26c1ceb60dcb15ee7",
    "tokens": [
      261,
      1093,
      2009,
      13,
      2011,
      263,
      261,
      1578,
      791,
      312,
      394,
      325,
      341,
      2001,
      1045,
      340
    ],
    "text": " the same.\nAnd the second time he said unto them, What is"
  }
} as const;

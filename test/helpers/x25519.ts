/**
 * Low-order X25519 u-coordinates (RFC 7748 §7, libsodium's blocklist): 0, 1, the two
 * order-8 points, p − 1, and the non-canonical p and p + 1; then each of them with bit
 * 255 set, which X25519 ignores. A peer key from this list gives an all-zero (or
 * attacker-known) shared secret, so the link handshake must refuse every one.
 */
const P_MINUS_1 = 'ec' + 'ff'.repeat(30) + '7f';
export const LOW_ORDER_CANONICAL: readonly string[] = [
  '00'.repeat(32),
  '01' + '00'.repeat(31),
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  P_MINUS_1,
  'ed' + 'ff'.repeat(30) + '7f', // p ≡ 0
  'ee' + 'ff'.repeat(30) + '7f', // p + 1 ≡ 1
];
/** {@link LOW_ORDER_CANONICAL} and each with bit 255 set: 14 hex strings. */
export const LOW_ORDER_X25519: readonly string[] = [
  ...LOW_ORDER_CANONICAL,
  ...LOW_ORDER_CANONICAL.map((h) => h.slice(0, 62) + (parseInt(h.slice(62), 16) | 0x80).toString(16)),
];

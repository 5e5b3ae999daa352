/** The rate limiter's key of a remote address (src/http/rate-limit.ts): IPv4 as is, IPv6 by its /64. */
import { addressKey } from '../../../src/http/rate-limit';

test('when an IPv4 address arrives plain or mapped into IPv6, then its key is the IPv4 address', () => {
  expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
  expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
});

test('when IPv6 addresses share their first 64 bits, then they share a key, however they are written', () => {
  expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  expect(addressKey('2001:0DB8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
  expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
  expect(addressKey('2001:db8:0:0:9::')).toBe('2001:db8:0:0::/64');
  expect(addressKey('::1')).toBe('0:0:0:0::/64');
  expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
});

test('when the address is unknown (a closed socket), then all such requests share one key', () => {
  expect(addressKey(undefined)).toBe('unknown');
});

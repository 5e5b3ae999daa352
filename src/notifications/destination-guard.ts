/**
 * Where the gateway may send a webhook (issue 13, SSRF): only to public unicast addresses, unless
 * ops allow the host in `GATEWAY_SUBSCRIBER_ALLOW_HOSTS`. Checked twice:
 *   - at registration, on the URL as written: an IP literal in a special-use range, or a `localhost`
 *     name (RFC 6761), is refused with a 422 on `/url`;
 *   - at connect time, on every address the name resolves to (the agents' `lookup`), so a name that
 *     resolves — or is rebound after registration — to a private address is refused too. The address
 *     checked is the address connected to: no second resolution in between.
 * Ranges come from ipaddr.js (`range()`: anything but `unicast` is refused). Addresses that embed an
 * IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the address they embed; IPv4-mapped
 * and IPv4-translated ones are refused outright — a receiver is never registered that way.
 */
import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export const DESTINATION_REFUSED = 'DESTINATION_REFUSED';

const NAT64_WKP = ipaddr.parseCIDR('64:ff9b::/96');

/** Why an address may not be connected to (the range name), or undefined for a public unicast address. */
export function specialRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const a = ipaddr.parse(address);
  const range = a.range();
  if (range === 'unicast') return undefined;
  if (a.kind() === 'ipv4') return range;
  const v6 = a as ipaddr.IPv6;
  if (range === 'ipv4Mapped' || range === 'rfc6145') return `${range} (${embeddedV4(v6, 12)})`;
  if (range === 'rfc6052' && v6.match(NAT64_WKP)) return embeddedRange('NAT64', embeddedV4(v6, 12));
  if (range === '6to4') return embeddedRange('6to4', embeddedV4(v6, 2));
  return range;
}

function embeddedV4(a: ipaddr.IPv6, byteOffset: number): ipaddr.IPv4 {
  return new ipaddr.IPv4(a.toByteArray().slice(byteOffset, byteOffset + 4));
}

function embeddedRange(kind: string, v4: ipaddr.IPv4): string | undefined {
  const inner = v4.range();
  return inner === 'unicast' ? undefined : `${kind} of ${v4.toString()} (${inner})`;
}

/** A URL's host as the WHATWG parser normalises it (`2130706433` → `127.0.0.1`), brackets and a final dot removed. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (net.isIPv6(h.replace(/^\[|\]$/g, ''))) h = `[${h.replace(/^\[|\]$/g, '')}]`;
  try {
    h = new URL(`http://${h}/`).hostname;
  } catch {
    /* left as written: it then matches nothing */
  }
  return h.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

const isLocalhostName = (h: string) => h === 'localhost' || h.endsWith('.localhost');

export interface DestinationGuard {
  /** Whether ops allow this host (as in the URL) whatever it resolves to. */
  allowed(host: string): boolean;
  /** Why a URL's host may not be registered (IP literal or localhost name), or undefined. */
  refusal(url: URL): string | undefined;
  /** dns.lookup that fails with DESTINATION_REFUSED when a resolved address is not public. */
  lookup: LookupFunction;
}

function refused(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: DESTINATION_REFUSED });
}

const ALLOW_HINT = 'ops can allow the host in GATEWAY_SUBSCRIBER_ALLOW_HOSTS';

/**
 * @param allowHosts hosts ops allow (names or IP literals, matched against the URL's host)
 * @param resolve the resolver (dns.lookup; tests pass one that maps names of their own)
 */
export function createDestinationGuard(
  allowHosts: readonly string[],
  resolve: LookupFunction = dns.lookup as LookupFunction,
): DestinationGuard {
  const allow = new Set(allowHosts.map(normaliseHost));
  const allowed = (host: string) => allow.has(normaliseHost(host));

  const refusal = (url: URL): string | undefined => {
    const host = normaliseHost(url.hostname);
    if (allow.has(host)) return undefined;
    if (isLocalhostName(host)) return `${host} is a loopback name`;
    if (!net.isIP(host)) return undefined;
    const range = specialRange(host);
    return range ? `${host} is not a public address (${range})` : undefined;
  };

  const lookup: LookupFunction = (hostname, options, callback) => {
    if (allowed(hostname)) {
      resolve(hostname, options, callback);
      return;
    }
    // Resolve every address, judge them all: one private address among public ones is enough to refuse.
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const list = (
        Array.isArray(addresses) ? addresses : [{ address: String(addresses), family: net.isIP(String(addresses)) }]
      ) as dns.LookupAddress[];
      if (!list.length) {
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      for (const a of list) {
        const range = specialRange(a.address);
        if (range) {
          callback(
            refused(`${hostname} resolves to ${a.address}, not a public address (${range}); ${ALLOW_HINT}`),
            '',
            0,
          );
          return;
        }
      }
      if ((options as dns.LookupOptions).all)
        (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };

  return { allowed, refusal, lookup };
}

/** The connect-time check of an IP literal (net.connect never calls `lookup` for one). */
export function literalRefusal(guard: DestinationGuard, url: URL): NodeJS.ErrnoException | undefined {
  const host = normaliseHost(url.hostname);
  if (!net.isIP(host) || guard.allowed(host)) return undefined;
  const range = specialRange(host);
  return range ? refused(`${host} is not a public address (${range}); ${ALLOW_HINT}`) : undefined;
}

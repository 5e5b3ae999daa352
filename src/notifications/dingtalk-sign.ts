/**
 * DingTalk custom robots with the 加签 (signature) security setting refuse posts whose URL does not
 * carry `timestamp` and `sign`. DingTalk's documentation of the custom robot's security settings
 * (开放平台「自定义机器人安全设置」› 加签; quoted word for word in, e.g.,
 * https://blog.csdn.net/weixin_43564241/article/details/139138811) says:
 *   "timestamp：…当前系统时间戳，单位是毫秒，与请求调用时间误差不能超过1小时。"
 *   "将时间戳 timestamp 和密钥 secret 当做签名字符串，使用HmacSHA256算法计算签名，然后进行Base64
 *    encode，最后再把签名参数再进行urlEncode，得到最终的签名（需要使用UTF-8字符集）。"
 * with the string to sign `timestamp + "\n" + secret`, the HMAC keyed with the secret (SEC…) itself,
 * and both parameters appended to the webhook: `…/robot/send?access_token=XXX&timestamp=XXX&sign=XXX`.
 * test/e2e/notifications-dingtalk.test.ts has a receiver that checks posts exactly so.
 *
 * The URL is signed at each attempt, not when the delivery is created: retries run for a day, and a
 * timestamp more than an hour old is refused.
 */
import crypto from 'node:crypto';

/** The `sign` value before URL encoding: base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)). */
export function dingtalkSignature(secret: string, timestampMs: number): string {
  return crypto
    .createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(`${timestampMs}\n${secret}`, 'utf8'))
    .digest('base64');
}

/**
 * The webhook URL with `timestamp` and `sign` appended to its query (an earlier `timestamp` or
 * `sign` in the stored URL is replaced, never sent twice). encodeURIComponent encodes base64's
 * `+`, `/` and `=` as the documented urlEncode does (%2B, %2F, %3D).
 */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const u = new URL(url);
  const kept = u.search
    .replace(/^\?/, '')
    .split('&')
    .filter((p) => p !== '' && !/^(timestamp|sign)(=|$)/.test(p));
  const ts = String(Math.floor(timestampMs));
  kept.push(`timestamp=${ts}`, `sign=${encodeURIComponent(dingtalkSignature(secret, Number(ts)))}`);
  u.search = `?${kept.join('&')}`;
  u.hash = '';
  return u.toString();
}

/**
 * DingTalk answers a refused post with HTTP 200 and `{"errcode": 310000, "errmsg": "sign not match"}`
 * (errcode 0 is success): judged by the status alone, a robot with the wrong secret would look
 * delivered while nothing reached the group. The reason, or undefined for success or a body that
 * is not DingTalk's JSON (then the status decides, as for any receiver).
 */
export function dingtalkRefusal(body: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const { errcode, errmsg } = v as { errcode?: unknown; errmsg?: unknown };
  if (typeof errcode !== 'number' || errcode === 0) return undefined;
  return `DingTalk errcode ${errcode}: ${String(errmsg ?? '').slice(0, 200)}`;
}

/**
 * pino JSON logs. Personal data and secrets are redacted by configuration, wherever they appear in
 * a logged object (001 art. 19: personal data never in logs unmasked).
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'certno',
  '*.certno',
  '*.*.certno',
  'psn_name',
  '*.psn_name',
  '*.*.psn_name',
  'signing_secrets',
  '*.signing_secrets',
  'secret',
  '*.secret',
  'robot_secret',
  '*.robot_secret',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
];

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hifob-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** Mask an ID number for display: `4101**********1234` (spec §6). */
export function maskCertno(s: string | null | undefined): string | undefined {
  if (!s) return undefined;
  return s.length <= 8 ? '*'.repeat(s.length) : `${s.slice(0, 4)}${'*'.repeat(s.length - 8)}${s.slice(-4)}`;
}

/** Mask a name for display: `张*` (spec §6). */
export function maskName(s: string | null | undefined): string | undefined {
  if (!s) return undefined;
  const chars = [...s];
  return chars[0] + '*'.repeat(Math.max(chars.length - 1, 1));
}

/**
 * Subscribers, the delivery log, replay and the emergency stop (spec §6). Ops manage everything; an
 * insurer client manages callbacks for its own discrepancies only: the filter's insurer is forced
 * into its scope, and it sees only the subscribers it created and their deliveries.
 */
import express, { Router, type Request } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import type { Queues } from '../queue/queues';
import type { Logger } from '../logging/logger';
import { requireBearer, requireOperatorAuth, requireRole } from '../http/auth';
import { badRequest, forbidden, notFound, ProblemError, unprocessable } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { toCstIso } from '../time';
import { DELIVERIES_QUEUE } from '../queue/queue-names';
import {
  DELIVERY_STATUSES,
  controlState,
  deliveryAttempts,
  deliveryView,
  getDelivery,
  listDeliveries,
  parseDeliveryCursor,
  replayDelivery,
  setStopped,
  type DeliveryStatus,
} from './delivery-store';
import { createDestinationGuard } from './destination-guard';
import { queueTestAlert } from './test-alert';
import {
  createSubscriber,
  deleteSubscriber,
  getSubscriber,
  listSubscribers,
  parseSubscriberInput,
  setSubscriberEnabled,
  subscriberView,
} from './subscriber-store';

export interface NotificationsRouterDeps {
  db: Db;
  clients: ClientRegistry;
  queues: Queues;
  log: Logger;
  now: () => number;
  onCommitted: () => void;
  /** Hosts ops allow although they are not public addresses (GATEWAY_SUBSCRIBER_ALLOW_HOSTS). */
  subscriberAllowHosts: readonly string[];
}

const SUBSCRIBER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const DELIVERY_ID = /^msg_[0-9a-f-]{36}$/;

const conflict409 = (en: string, zh: string) =>
  new ProblemError(409, 'CONFLICT', { en: 'Conflict', zh: '冲突' }, { en, zh });

export function notificationsRouter(deps: NotificationsRouterDeps): Router {
  const r = Router();
  const auth = requireBearer(deps.clients);
  const operator = requireOperatorAuth(deps);
  const json = express.json({ limit: '64kb' });
  const at = () => new Date(deps.now());
  const guard = createDestinationGuard(deps.subscriberAllowHosts);
  /** An insurer's own subscriber, or any for ops; 404 otherwise (its existence is not revealed). */
  const visibleSubscriber = async (id: string, c: Client) => {
    const s = SUBSCRIBER_ID.test(id) ? await getSubscriber(deps.db, id) : undefined;
    if (!s || (c.role !== 'ops' && s.owner_client_id !== c.client_id))
      throw notFound({ en: 'no such subscriber', zh: '没有该订阅' });
    return s;
  };

  r.post('/v1/subscribers', operator, requireRole('ops', 'insurer'), json, async (req, res) => {
    const c = res.locals.client as Client;
    const { value, errors } = parseSubscriberInput(req.body, guard);
    if (!value) throw unprocessable(errors, { en: 'the subscriber is not valid', zh: '订阅参数无效' });
    if (c.role === 'insurer') {
      const asked = value.filter.insurer_code;
      if (asked && !c.scope.includes(asked)) {
        throw forbidden({ en: `insurer ${asked} is outside your scope`, zh: `保险公司 ${asked} 超出授权范围` }, [
          { path: '/filter/insurer_code', code: 'scope', message: `must be one of ${c.scope.join(', ')}` },
        ]);
      }
      if (!asked && c.scope.length !== 1)
        throw unprocessable([
          { path: '/filter/insurer_code', code: 'required', message: `choose one of ${c.scope.join(', ')}` },
        ]);
      value.filter = { ...value.filter, insurer_code: asked ?? c.scope[0]! };
    }
    const s = await createSubscriber(deps.db, value, c.role === 'insurer' ? c.client_id : null, at());
    // The secret is shown once, here; the receiver verifies signatures with it.
    res
      .status(201)
      .location(`/v1/subscribers/${s.id}`)
      .json({ ...subscriberView(s), secret: s.secret });
  });

  r.get('/v1/subscribers', auth, requireRole('ops', 'insurer'), async (_req, res) => {
    const c = res.locals.client as Client;
    const list = await listSubscribers(deps.db, c.role === 'ops' ? undefined : c.client_id);
    res.json({ items: list.map(subscriberView) });
  });

  r.get('/v1/subscribers/:id', auth, requireRole('ops', 'insurer'), async (req, res) => {
    res.json(subscriberView(await visibleSubscriber(String(req.params.id), res.locals.client)));
  });

  r.delete('/v1/subscribers/:id', operator, requireRole('ops', 'insurer'), async (req, res) => {
    const s = await visibleSubscriber(String(req.params.id), res.locals.client);
    await deps.db.tx((q) => deleteSubscriber(q, s.id, at()));
    res.status(204).end();
  });

  r.post('/v1/subscribers/:id/enable', operator, requireRole('ops'), async (req, res) => {
    const s = await visibleSubscriber(String(req.params.id), res.locals.client);
    await deps.db.tx((q) => setSubscriberEnabled(q, s.id, true, null, at()));
    res.json(subscriberView((await getSubscriber(deps.db, s.id))!));
  });

  // A test alert through the real delivery path; its progress is GET /v1/deliveries/{id} (the console polls it).
  r.post('/v1/subscribers/:id/test', operator, requireRole('ops'), async (req, res) => {
    const c = res.locals.client as Client;
    const s = await visibleSubscriber(String(req.params.id), c);
    if (!s.enabled) throw conflict409('the subscriber is disabled; enable it first', '订阅已停用，请先启用');
    const id = await deps.db.tx((q) => queueTestAlert(q, s, c.client_id, at()));
    deps.onCommitted();
    res
      .status(202)
      .location(`/v1/deliveries/${id}`)
      .json({ id, webhook_id: id, subscriber_id: s.id, event_type: 'subscriber.test', status: 'pending' });
  });

  r.get('/v1/deliveries', auth, requireRole('ops', 'insurer'), async (req, res) => {
    const c = res.locals.client as Client;
    const { filter, limit, cursor } = parseDeliveryQuery(req);
    if (c.role !== 'ops') filter.owner_client_id = c.client_id;
    const page = await listDeliveries(deps.db, filter, limit, cursor);
    res.json({
      items: page.items.map((d) => deliveryView(d, undefined, c.role === 'ops')),
      next_cursor: page.next_cursor,
    });
  });

  r.get('/v1/deliveries/:id', auth, requireRole('ops', 'insurer'), async (req, res) => {
    const c = res.locals.client as Client;
    const id = String(req.params.id);
    const d = DELIVERY_ID.test(id) ? await getDelivery(deps.db, id) : undefined;
    if (!d || (c.role !== 'ops' && d.owner_client_id !== c.client_id))
      throw notFound({ en: 'no such delivery', zh: '没有该投递' });
    // Network errors name addresses and ports: ops see them, an insurer a generic error (no port scanner).
    res.json(deliveryView(d, await deliveryAttempts(deps.db, d.id), c.role === 'ops'));
  });

  r.post('/v1/deliveries/:id/replay', auth, requireRole('ops'), async (req, res) => {
    const id = String(req.params.id);
    const d = DELIVERY_ID.test(id) ? await getDelivery(deps.db, id) : undefined;
    if (!d) throw notFound({ en: 'no such delivery', zh: '没有该投递' });
    const sub = await getSubscriber(deps.db, d.subscriber_id);
    if (!sub?.enabled)
      throw conflict409('the subscriber is disabled or deleted; enable it first', '订阅已停用或删除，请先启用');
    const out = await deps.db.tx((q) => replayDelivery(q, id, at()));
    if (out === 'in_flight') throw conflict409('the delivery is being sent right now', '该投递正在发送中');
    deps.onCommitted();
    res.status(202).json({ id, webhook_id: id, status: 'pending' });
  });

  // Emergency stop: the flag stops new attempts (workers claim under it), pausing the queue stops
  // workers from even picking jobs. Pending deliveries are HELD, not cancelled: resume sends them.
  r.post('/v1/notifications/stop', auth, requireRole('ops'), json, async (req, res) => {
    const c = res.locals.client as Client;
    const reason = (req.body as { reason?: unknown } | undefined)?.reason;
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500))
      throw unprocessable([{ path: '/reason', code: 'type', message: 'a text of at most 500 characters' }]);
    await deps.db.tx((q) => setStopped(q, true, c.client_id, (reason as string | undefined) ?? null, at()));
    const paused = await deps.queues
      .get(DELIVERIES_QUEUE)
      .pause()
      .then(
        () => true,
        (err: unknown) => {
          deps.log.warn({ err }, 'could not pause the deliveries queue; the stop flag still holds every delivery');
          return false;
        },
      );
    res.json(await statusBody(deps, paused));
  });

  r.post('/v1/notifications/resume', auth, requireRole('ops'), async (_req, res) => {
    const c = res.locals.client as Client;
    await deps.db.tx((q) => setStopped(q, false, c.client_id, null, at()));
    const q = deps.queues.get(DELIVERIES_QUEUE);
    await q.resume();
    // Held jobs sit delayed; promote them all — each re-reads its row and re-waits if not yet due.
    await q.promoteJobs();
    res.json(await statusBody(deps, false));
  });

  r.get('/v1/notifications/status', auth, requireRole('ops'), async (_req, res) => {
    const paused = await deps.queues
      .get(DELIVERIES_QUEUE)
      .isPaused()
      .catch(() => false);
    res.json(await statusBody(deps, paused));
  });
  return r;
}

async function statusBody(deps: NotificationsRouterDeps, paused: boolean): Promise<Record<string, unknown>> {
  const s = await controlState(deps.db);
  return {
    stopped: s.stopped,
    queue_paused: paused,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.changed_by ? { changed_by: s.changed_by } : {}),
    ...(s.changed_at ? { changed_at: toCstIso(s.changed_at) } : {}),
  };
}

function parseDeliveryQuery(req: Request): {
  filter: { subscriber_id?: string; status?: DeliveryStatus; owner_client_id?: string };
  limit: number;
  cursor?: { created_at: string; id: string };
} {
  const errors: FieldError[] = [];
  const filter: { subscriber_id?: string; status?: DeliveryStatus } = {};
  const { subscriber_id: sid, status, limit: rawLimit, cursor: rawCursor } = req.query;
  if (sid !== undefined && sid !== '') {
    if (typeof sid !== 'string' || !SUBSCRIBER_ID.test(sid))
      errors.push({ path: '?subscriber_id', code: 'pattern', message: `must match ${SUBSCRIBER_ID.source}` });
    else filter.subscriber_id = sid;
  }
  if (status !== undefined && status !== '') {
    if (typeof status !== 'string' || !(DELIVERY_STATUSES as readonly string[]).includes(status))
      errors.push({ path: '?status', code: 'enum', message: `must be one of ${DELIVERY_STATUSES.join(', ')}` });
    else filter.status = status as DeliveryStatus;
  }
  const limit = rawLimit === undefined ? 100 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    errors.push({ path: '?limit', code: 'range', message: 'must be a whole number from 1 to 1000' });
  let cursor: { created_at: string; id: string } | undefined;
  if (typeof rawCursor === 'string' && rawCursor) {
    cursor = parseDeliveryCursor(rawCursor);
    if (!cursor) errors.push({ path: '?cursor', code: 'cursor', message: 'not a cursor this API returned' });
  }
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return { filter, limit, cursor };
}

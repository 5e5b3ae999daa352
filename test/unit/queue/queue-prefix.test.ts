/**
 * The BullMQ prefix is a Redis Cluster hash tag (issue 15): every key of a deployment's queues
 * (`{gw}:ingest:wait`, `{gw}:ingest:1`, …) hashes to one cluster slot, as BullMQ's multi-key Lua
 * scripts need. Pure: the config module only.
 */
import { loadConfig, queueKeyPrefix } from '../../../src/config/config';

describe('the queue prefix', () => {
  test('when GATEWAY_QUEUE_PREFIX is unset, then the prefix is {gw}', () => {
    expect(loadConfig({}).queuePrefix).toBe('{gw}');
  });

  test("when a name is configured, then it is wrapped in braces; one already in braces is kept (a Config's prefix can be passed on)", () => {
    expect(loadConfig({ GATEWAY_QUEUE_PREFIX: 'gwt-x-1' }).queuePrefix).toBe('{gwt-x-1}');
    expect(loadConfig({ GATEWAY_QUEUE_PREFIX: '{gwt-x-1}' }).queuePrefix).toBe('{gwt-x-1}');
    expect(queueKeyPrefix(queueKeyPrefix('gw'))).toBe('{gw}');
  });

  test('when the name has other characters or braces inside, then start-up fails with the variable named', () => {
    expect(() => loadConfig({ GATEWAY_QUEUE_PREFIX: 'g w' })).toThrow(/GATEWAY_QUEUE_PREFIX/);
    expect(() => loadConfig({ GATEWAY_QUEUE_PREFIX: '{a}b}' })).toThrow(/GATEWAY_QUEUE_PREFIX/);
  });
});

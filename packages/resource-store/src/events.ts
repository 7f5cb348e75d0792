import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, ConflictError } from './errors';
import type { EventRecorder, EventType, KubeObject, ResourceClient, ResourceType } from './types';

/**
 * events.k8s.io/v1 Events. The apiserver serves the same objects as core/v1 Events, so
 * `kubectl describe` shows them. Both backends store them through a ResourceClient.
 */
export const EVENT_TYPE: ResourceType = { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };

export interface EventObject extends KubeObject {
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note: string;
  type: EventType;
  regarding: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  series?: { count: number; lastObservedTime: string };
}


/**
 * Repeats of the same event on the same object raise its series count instead of
 * creating new objects (as client-go's correlator does), so a reconcile loop that
 * retries every few seconds does not flood the namespace.
 */
export function eventRecorderFor(
  client: ResourceClient<EventObject>,
  now: () => Date,
  instance = 'local',
  /** Shown as the event's source (`kubectl describe` "From"). */
  component = 'deskplane.io/desktop-operator',
): EventRecorder {
  const seen = new Map<string, string>(); // correlation key → event name
  let sequence = 0; // orders events recorded within one millisecond (microsecond digits)
  const keyOf = (o: KubeObject, type: string, reason: string, note: string): string =>
    [o.metadata.uid ?? o.metadata.name, type, reason, note].join('\u0000');

  return {
    async record(regarding, type, reason, message) {
      const namespace = regarding.metadata.namespace ?? 'default';
      const key = keyOf(regarding, type, reason, message);
      const existingName = seen.get(key);
      const t = microTime(now().toISOString(), sequence++ % 1000);
      if (existingName) {
        const existing = await client.get(existingName, namespace);
        if (existing) {
          const count = (existing.series?.count ?? 1) + 1;
          try {
            await client.update({ ...existing, series: { count, lastObservedTime: t } });
            return;
          } catch (e) {
            if (!(e instanceof ConflictError)) throw e; // a lost count is fine; a lost event is not
          }
        }
      }
      const name = `${regarding.metadata.name}.${randomBytes(8).toString('hex')}`;
      const ev: EventObject = {
        apiVersion: `${EVENT_TYPE.group}/${EVENT_TYPE.version}`,
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: t,
        reportingController: component,
        reportingInstance: instance,
        action: reason,
        reason,
        note: message.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata.name,
          ...(regarding.metadata.namespace ? { namespace: regarding.metadata.namespace } : {}),
          ...(regarding.metadata.uid ? { uid: regarding.metadata.uid } : {}),
        },
      };
      try {
        await client.create(ev);
        seen.set(key, name);
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
      }
    },

    async list(regarding) {
      const { items } = await client.list({ namespace: regarding.metadata.namespace ?? 'default' });
      return items
        .filter((e) => e.regarding.kind === regarding.kind && e.regarding.name === regarding.metadata.name)
        .filter((e) => !regarding.metadata.uid || !e.regarding.uid || e.regarding.uid === regarding.metadata.uid)
        .sort((a, b) => a.eventTime.localeCompare(b.eventTime))
        .map((e) => ({ type: e.type, reason: e.reason, message: e.note, count: e.series?.count ?? 1 }));
    },
  };
}

/** MicroTime: RFC 3339 with exactly six fractional digits, as the apiserver requires. */
function microTime(iso: string, micros: number): string {
  return iso.replace(/\.(\d{3})Z$/, `.$1${String(micros).padStart(3, '0')}Z`);
}

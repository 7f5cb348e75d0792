import { ChannelType } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { SessionRegistry, type SessionEnd } from './sessions';

const base = { sessionId: 1, user: 'alice', tenant: 'acme', desktop: 'acme/vd', source: '10.1.1.1', transport: 'tcp', upstream: '10.0.0.1:5901', policy: '' };
const ch = (channelType: number) => ({ channelType, channelId: 0, upstream: '10.0.0.1:5901', transport: 'tcp' });

describe('SessionRegistry', () => {
  it('counts bytes per channel and per tenant × channel; the session ends with its last channel, with its totals', () => {
    let t = 1_000;
    const reg = new SessionRegistry({ now: () => t });
    const ended: SessionEnd[] = [];
    reg.on('closed', (e) => ended.push(e));
    const key = reg.open(base);
    const main = reg.attach(key, ch(ChannelType.MAIN), () => undefined);
    const display = reg.attach(key, ch(ChannelType.DISPLAY), () => undefined);
    reg.count(key, display, 5_000, 10);
    reg.count(key, main, 100, 50);
    expect(reg.get(key)?.channels.map((c) => [c.channelType, c.bytesToClient, c.bytesToGuest])).toEqual([[1, 100, 50], [2, 5_000, 10]]);
    reg.detach(key, display);
    expect(ended).toEqual([]);
    t = 4_000;
    reg.detach(key, main);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ reason: 'client closed', endedAt: 4_000, bytesToClient: 5_100, bytesToGuest: 60, info: { key, user: 'alice', openedAt: 1_000 } });
    expect(reg.size).toBe(0);
    expect(reg.byteTotals()).toEqual([
      { tenant: 'acme', channel: 'display', toClient: 5_000, toGuest: 10 },
      { tenant: 'acme', channel: 'main', toClient: 100, toGuest: 50 },
    ]);
  });

  it('only client → guest bytes on inputs mark the session active', () => {
    let t = 0;
    const reg = new SessionRegistry({ now: () => t });
    const key = reg.open(base);
    const display = reg.attach(key, ch(ChannelType.DISPLAY), () => undefined);
    const inputs = reg.attach(key, ch(ChannelType.INPUTS), () => undefined);
    t = 10;
    reg.count(key, display, 0, 99);
    reg.count(key, inputs, 99, 0);
    expect(reg.get(key)?.lastInputAt).toBe(0);
    t = 20;
    reg.count(key, inputs, 0, 6);
    expect(reg.get(key)?.lastInputAt).toBe(20);
  });

  it('kill closes every channel through its closer and ends with the kill reason; a session without channels ends at once', () => {
    const reg = new SessionRegistry();
    const ended: string[] = [];
    reg.on('closed', (e) => ended.push(`${e.info.key} ${e.reason}`));
    const key = reg.open(base);
    const closed: string[] = [];
    const a = reg.attach(key, ch(ChannelType.MAIN), (why) => (closed.push(`main ${why}`), reg.detach(key, a, 'client closed')));
    const b = reg.attach(key, ch(ChannelType.DISPLAY), (why) => (closed.push(`display ${why}`), reg.detach(key, b, 'client closed')));
    expect(reg.kill(key, 'killed by admin')).toBe(true);
    expect(closed).toEqual(['main killed by admin', 'display killed by admin']);
    expect(ended).toEqual([`${key} killed by admin`]);
    expect(reg.kill(key, 'again')).toBe(false);
    const lonely = reg.open(base);
    reg.kill(lonely, 'start failed');
    expect(ended[1]).toBe(`${lonely} start failed`);
  });

  it('lists by tenant, user and desktop, and counts a user\'s sessions', () => {
    const reg = new SessionRegistry();
    reg.open(base);
    reg.open({ ...base, user: 'bob' });
    reg.open({ ...base, tenant: 'other', desktop: 'other/vd' });
    expect(reg.countByUser('acme', 'alice')).toBe(1);
    expect(reg.list({ tenant: 'acme' })).toHaveLength(2);
    expect(reg.list({ desktop: 'other/vd' })).toHaveLength(1);
    expect(reg.list({ tenant: 'acme', user: 'bob' })[0]?.user).toBe('bob');
  });
});

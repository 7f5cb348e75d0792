import { describe, expect, it } from 'vitest';
import { consoleTicketPath, defaultWebsocketUrl, parseConsoleFragment, targetFromConsoleUrl } from './console-url';
import { fitInside } from './useFitToContainer';

const here = { protocol: 'https:', host: 'desk.example.org', href: 'https://desk.example.org/ui/console/vd-1' };

describe('console URL', () => {
  it('reads ticket, desktop and gateway from the fragment', () => {
    expect(parseConsoleFragment('#ticket=T-1_x&desktop=acme%2Fvd-1&gateway=wss%3A%2F%2Fgw.example.org%3A8443%2Fspice', here)).toEqual({
      ticket: 'T-1_x',
      desktop: 'acme/vd-1',
      websocketUrl: 'wss://gw.example.org:8443/spice',
    });
    expect(parseConsoleFragment('ticket=T', here)?.ticket).toBe('T');
  });

  it('has no target without a ticket', () => {
    expect(parseConsoleFragment('', here)).toBeUndefined();
    expect(parseConsoleFragment('#desktop=a%2Fb', here)).toBeUndefined();
    expect(parseConsoleFragment('#ticket=', here)).toBeUndefined();
  });

  it('falls back to this origin /spice for a missing or non-WebSocket gateway', () => {
    expect(defaultWebsocketUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/spice');
    expect(parseConsoleFragment('#ticket=T', here)?.websocketUrl).toBe('wss://desk.example.org/spice');
    expect(parseConsoleFragment('#ticket=T&gateway=https%3A%2F%2Fevil.example', here)?.websocketUrl).toBe('wss://desk.example.org/spice');
    expect(parseConsoleFragment('#ticket=T&gateway=not%20a%20url', here)?.websocketUrl).toBe('wss://desk.example.org/spice');
  });

  it('takes the target out of the API answer, relative or absolute', () => {
    expect(targetFromConsoleUrl('/ui/console/vd-1#ticket=A&gateway=ws%3A%2F%2F127.0.0.1%3A5959%2Fspice', here)).toMatchObject({ ticket: 'A', websocketUrl: 'ws://127.0.0.1:5959/spice' });
    expect(targetFromConsoleUrl('https://other.example/c#ticket=B', here).ticket).toBe('B');
    expect(() => targetFromConsoleUrl('https://desk.example.org/ui/console/vd-1', here)).toThrow(/no ticket/);
  });

  it('asks for a browser ticket of the named desktop, name escaped', () => {
    expect(consoleTicketPath('vd-1')).toBe('/desktops/vd-1/console?kind=browser');
    expect(consoleTicketPath('a/b?c')).toBe('/desktops/a%2Fb%3Fc/console?kind=browser');
  });
});

describe('fitInside', () => {
  it('scales down to the limiting side and centres', () => {
    expect(fitInside({ width: 800, height: 300 }, { width: 720, height: 400 })).toEqual({ scale: 0.75, left: 130, top: 0 });
  });
  it('scales up at most MAX_SCALE', () => {
    expect(fitInside({ width: 4000, height: 4000 }, { width: 720, height: 400 }).scale).toBe(2);
  });
  it('is the identity while there is no picture or no room', () => {
    expect(fitInside({ width: 800, height: 600 }, { width: 0, height: 0 })).toEqual({ scale: 1, left: 0, top: 0 });
    expect(fitInside({ width: 0, height: 0 }, { width: 720, height: 400 })).toEqual({ scale: 1, left: 0, top: 0 });
  });
});

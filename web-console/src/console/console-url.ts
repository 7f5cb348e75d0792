/**
 * The browser console URL the API hands out: `…/ui/console/<name>#ticket=…&desktop=…&gateway=…`.
 * The ticket rides in the fragment so no server, proxy log or Referer ever sees it; `gateway`
 * is the gateway's WebSocket front as browsers reach it.
 */

export interface ConsoleTarget {
  ticket: string;
  /** `tenant/name`, as the API put it; informational. */
  desktop?: string;
  /** ws:// or wss:// URL of the gateway's WebSocket front. */
  websocketUrl: string;
}

/** Where the gateway's WebSocket front is when the URL does not say: this origin, path /spice. */
export function defaultWebsocketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/spice`;
}

function validWebsocketUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'ws:' || u.protocol === 'wss:';
  } catch {
    return false;
  }
}

/**
 * The console target in a URL fragment (`#ticket=…`, with or without `#`), or undefined when it
 * has no ticket. A `gateway` that is not a ws:// or wss:// URL is ignored (the fragment is
 * user-editable; the page must not open a socket anywhere else).
 */
export function parseConsoleFragment(hash: string, location: Pick<Location, 'protocol' | 'host'>): ConsoleTarget | undefined {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const ticket = params.get('ticket');
  if (!ticket) return undefined;
  const gateway = params.get('gateway');
  const desktop = params.get('desktop');
  return {
    ticket,
    ...(desktop ? { desktop } : {}),
    websocketUrl: gateway && validWebsocketUrl(gateway) ? gateway : defaultWebsocketUrl(location),
  };
}

/** The target in the API's `{ url }` answer; throws when the URL carries no ticket. */
export function targetFromConsoleUrl(url: string, location: Pick<Location, 'protocol' | 'host' | 'href'>): ConsoleTarget {
  const target = parseConsoleFragment(new URL(url, location.href).hash, location);
  if (!target) throw new Error('the console URL from the API carries no ticket');
  return target;
}

/** The API path that mints a browser ticket for one of my desktops. */
export function consoleTicketPath(name: string): string {
  return `/desktops/${encodeURIComponent(name)}/console?kind=browser`;
}

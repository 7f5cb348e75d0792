/**
 * The one place that talks to spice-html5 (a dependency, used as published: ES modules that
 * Vite bundles like any other). It hides the library's globals and callbacks behind
 * `openSpice`, which the console page drives through its state machine.
 */
import { SpiceMainConn, type SpiceChannel } from '@spice-project/spice-html5';
import { Constants } from '@spice-project/spice-html5/src/enums.js';
import { SpiceMiniData, SpiceMsgcKeyDown, SpiceMsgcKeyUp } from '@spice-project/spice-html5/src/spicemsg.js';

export interface SpiceSession {
  /** Closes every channel; no callback fires afterwards. */
  stop(): void;
  /** Ctrl+Alt+Del to the guest (the browser would take the real key combination itself). */
  sendCtrlAltDel(): boolean;
}

export interface SpiceCallbacks {
  /** The main channel is linked (MAIN_INIT). */
  onConnected(): void;
  /** The first error of the session: refusal, drop or timeout. Called at most once. */
  onError(message: string): void;
}

// PC AT set-1 scancodes; a key release is the same code with bit 7 set.
const LEFT_CTRL = 0x1d;
const LEFT_ALT = 0x38;
const DELETE = 0x53;
const RELEASE = 0x80;

function channelsOf(main: SpiceMainConn): SpiceChannel[] {
  return [main.display, main.inputs, main.cursor, ...(main.ports ?? []), ...(main.extra_channels ?? [])].filter((c): c is SpiceChannel => c !== undefined);
}

/**
 * Connects to the gateway's WebSocket front with the ticket as SPICE password; the display
 * canvas appears inside the element with id `screenId`.
 */
export function openSpice(uri: string, ticket: string, screenId: string, cb: SpiceCallbacks): SpiceSession {
  let done = false;
  const fail = (e: unknown): void => {
    if (done) return;
    done = true;
    cb.onError(e instanceof Error ? e.message : String(e));
  };
  const main = new SpiceMainConn({
    uri,
    password: ticket,
    screen_id: screenId,
    onerror: fail,
    onsuccess: () => {
      if (!done) cb.onConnected();
    },
  });
  // spice-html5 hands its error callback only to the main channel; a secondary channel that
  // fails with none set throws from a WebSocket event (an uncaught error in the page).
  const original = main.process_channel_message.bind(main);
  main.process_channel_message = (msg) => {
    const handled = original(msg);
    for (const ch of channelsOf(main)) ch.onerror ??= fail;
    return handled;
  };
  return {
    stop() {
      done = true;
      main.stop();
    },
    sendCtrlAltDel() {
      const inputs = main.inputs;
      if (!inputs || inputs.state !== 'ready') return false;
      const press = (code: number): void => {
        const key = new SpiceMsgcKeyDown();
        key.code = code;
        const msg = new SpiceMiniData();
        msg.build_msg(Constants.SPICE_MSGC_INPUTS_KEY_DOWN!, key);
        inputs.send_msg(msg);
      };
      const release = (code: number): void => {
        const key = new SpiceMsgcKeyUp();
        key.code = code | RELEASE;
        const msg = new SpiceMiniData();
        msg.build_msg(Constants.SPICE_MSGC_INPUTS_KEY_UP!, key);
        inputs.send_msg(msg);
      };
      press(LEFT_CTRL);
      press(LEFT_ALT);
      press(DELETE);
      release(DELETE);
      release(LEFT_ALT);
      release(LEFT_CTRL);
      return true;
    },
  };
}

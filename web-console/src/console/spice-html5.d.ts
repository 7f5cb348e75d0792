/**
 * Types for the parts of @spice-project/spice-html5 (plain ES modules, no typings of its own)
 * the console uses. Only what spice.ts touches is declared.
 */
declare module '@spice-project/spice-html5' {
  export interface SpiceChannel {
    state: string;
    onerror?: (e: Error) => void;
    send_msg(msg: unknown): void;
  }
  export interface SpiceMainConnOptions {
    uri: string;
    password: string;
    screen_id: string;
    onerror?: (e: Error) => void;
    onsuccess?: (message: string) => void;
    onagent?: (conn: SpiceMainConn) => void;
  }
  export class SpiceMainConn implements SpiceChannel {
    constructor(o: SpiceMainConnOptions);
    state: string;
    onerror?: (e: Error) => void;
    send_msg(msg: unknown): void;
    stop(): void;
    process_channel_message(msg: { type: number }): boolean;
    display?: SpiceChannel;
    inputs?: SpiceChannel;
    cursor?: SpiceChannel;
    ports: SpiceChannel[];
    extra_channels?: SpiceChannel[];
  }
}

declare module '@spice-project/spice-html5/src/spicemsg.js' {
  export class SpiceMiniData {
    build_msg(type: number, body: unknown): void;
  }
  export class SpiceMsgcKeyDown {
    code: number;
  }
  export class SpiceMsgcKeyUp {
    code: number;
  }
}

declare module '@spice-project/spice-html5/src/enums.js' {
  export const Constants: Record<string, number>;
}
